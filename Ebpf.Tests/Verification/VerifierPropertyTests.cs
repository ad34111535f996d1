using CsCheck;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

public class VerifierPropertyTests
{
    // Mostly defined opcodes with small or meaningful fields, so that both verdicts occur often.
    private static readonly Gen<Instruction> Slot = InstructionGenerators.PlausibleSlot;

    [Fact]
    public void Loading_random_programs_accepts_or_throws_a_verification_error_only()
    {
        int accepted = 0;
        Slot.Array[0, 6].Sample(body =>
        {
            Instruction[] code = [.. body, new Instruction(OpCodes.Exit, 0, 0, 0, 0)];
            try
            {
                var program = ProgramLoader.Load(code);
                Assert.Equal(code, program.Instructions.ToArray());
                Interlocked.Increment(ref accepted);
            }
            catch (EbpfVerificationException e)
            {
                Assert.InRange(e.Pc, -1, code.Length - 1);
                Assert.Equal(e.Pc < 0 ? null : code[e.Pc], e.Instruction);
            }
        }, iter: 20000);
        Assert.True(accepted > 100, $"only {accepted} of 20000 random programs were accepted");
    }

    /// <summary>
    /// The verifier and the canonical formatter are written independently from RFC 9669; they must agree on which
    /// single slots are well-formed instructions (the formatter prints the others as raw <c>.slot</c> words).
    /// </summary>
    [Fact]
    public void The_verifier_and_the_formatter_agree_on_well_formed_slots()
    {
        Slot.Sample(insn =>
        {
            if (insn.IsWide || (InstructionDecoder.TryDecode([insn], 0, out var d, out _) && d.IsJump) || insn.Dst > 10 || insn.Src > 10)
            {
                return; // lddw needs its pair; jump and register rules are structural
            }

            bool formatted = !InstructionFormatter.Format(insn).StartsWith(InstructionFormatter.SlotDirective, StringComparison.Ordinal);
            bool verified;
            try
            {
                Verifier.Default.Verify([insn]);
                verified = InstructionDecoder.TryDecode([insn], 0, out _, out _);
            }
            catch (EbpfVerificationException)
            {
                verified = false;
            }

            Assert.True(formatted == verified, $"{insn.ToRaw():x16}: formatter prints '{InstructionFormatter.Format(insn)}', verifier {(verified ? "accepts" : "rejects")}");
        }, iter: 50000);
    }
}
