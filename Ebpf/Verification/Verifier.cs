using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Verification;

/// <summary>
/// The default policy verifier (rbpf's <c>verifier::check</c>, replaceable like rbpf's <c>set_verifier</c>).
/// <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/> runs it first and then
/// always decodes the program (<see cref="InstructionDecoder"/>: only defined encodings, e.g. byte-swap widths 16, 32
/// or 64, <c>lddw</c> sources 0-6, the ten atomic operations, <c>call</c> source 0 or 1) and enforces the structural
/// rules (registers, no write to r10, complete <c>lddw</c>, jump and call targets, functions, no fall-off). This
/// verifier reads the same decoded form (it skips slots that do not decode, which the structural check reports) and
/// adds the policy on top:
/// <list type="bullet">
/// <item>every field RFC 9669 marks unused is zero, per instruction family: <c>src</c> of ALU/JMP immediate forms,
/// <c>imm</c> of register forms, <c>offset</c> of ALU operations (except <c>sdiv</c>/<c>smod</c>: 0 or 1, and
/// <c>movsx</c>: 0, 8, 16 or 32, not 32 in the 32-bit class), <c>src</c>/<c>imm</c>/<c>offset</c> of <c>neg</c>,
/// <c>src</c>/<c>offset</c> of byte swaps, <c>dst</c>/<c>src</c>/<c>imm</c> of <c>ja</c>, <c>dst</c>/<c>src</c>/<c>offset</c>
/// of <c>ja32</c>, <c>dst</c>/<c>offset</c> of <c>call</c>, <c>src</c>/<c>offset</c>/<c>imm</c> of <c>callx</c>, every field of
/// <c>exit</c>, <c>imm</c> of loads and register stores, <c>src</c> of immediate stores, <c>dst</c>/<c>offset</c> (and
/// <c>src</c> for <c>LD_ABS</c>) of legacy packet loads, <c>offset</c> of <c>lddw</c>, and opcode/dst/src/offset of
/// the second <c>lddw</c> slot (the fields come from <see cref="DecodedInstruction.UnusedFields"/>);</item>
/// <item>rbpf's length limit (<see cref="VerifierOptions.MaxSlots"/>) and "infinite loop" rule (a jump to itself),
/// and optionally its "last instruction is exit" rule (<see cref="VerifierOptions.RequireExitAtEnd"/>).</item>
/// </list>
/// Deliberate differences from rbpf: a <c>div</c> or <c>mod</c> by an immediate zero is accepted (RFC 9669 defines
/// it: the quotient is 0, the dividend is kept), rbpf's rejection of <c>mul64</c> by an immediate zero is not copied,
/// and shift immediates at or beyond the operand width are accepted (the count is masked); the conformance suite
/// expects all three to run.
/// </summary>
public sealed class Verifier : IVerifier
{
    /// <summary>Creates a verifier with the default options.</summary>
    public Verifier()
        : this(VerifierOptions.Default)
    {
    }

    /// <summary>Creates a verifier with the given options.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="VerifierOptions.MaxSlots"/> is not positive.</exception>
    public Verifier(VerifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSlots, nameof(options));
        Options = options;
    }

    /// <summary>The shared verifier with the default options.</summary>
    public static Verifier Default { get; } = new();

    /// <summary>The policy this verifier applies.</summary>
    public VerifierOptions Options { get; }

    /// <summary>
    /// Wraps an rbpf-style verifying function (<c>fn(&amp;[u8]) -> Result</c>) as an <see cref="IVerifier"/>:
    /// it receives the encoded program and returns null to accept it or the reason to reject it.
    /// </summary>
    public static IVerifier FromDelegate(ProgramCheck check) => new DelegateVerifier(check);

    /// <inheritdoc />
    /// <exception cref="EbpfVerificationException">The first rule the program breaks, with its pc and instruction.</exception>
    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
        int n = instructions.Length;
        if (n > Options.MaxSlots)
        {
            throw new EbpfVerificationException($"the program has {n} slots; this verifier allows at most {Options.MaxSlots}");
        }

        if (Options.RequireExitAtEnd && n > 0 && instructions[n - 1].OpCode != OpCodes.Exit)
        {
            throw new EbpfVerificationException(n - 1, instructions[n - 1], "the program does not end with exit");
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (!InstructionDecoder.TryDecode(instructions, pc, out var insn, out _))
            {
                continue; // an undefined encoding: reported by the structural check
            }

            Unused(pc, insn);
            switch (insn.Operation)
            {
                case Operation.Ja or Operation.Ja32 or (>= Operation.Jeq and <= Operation.Jsle):
                    CheckSelfJump(pc, insn);
                    break;
                case Operation.Lddw:
                    CheckLddw(instructions, pc, insn);
                    pc++;
                    break;
                case Operation.LoadAbsolute or Operation.LoadIndirect when !Options.AllowLegacyPacketLoads:
                    throw Reject(pc, insn.Raw, "legacy packet loads (LD_ABS/LD_IND) are not allowed by this verifier");
            }
        }
    }

    private void CheckSelfJump(int pc, in DecodedInstruction insn)
    {
        if (insn.Target == pc && Options.RejectSelfJumps)
        {
            throw Reject(pc, insn.Raw, "the jump targets itself (an infinite loop)");
        }
    }

    private void CheckLddw(ReadOnlySpan<Instruction> code, int pc, in DecodedInstruction insn)
    {
        if (insn.PseudoSource != LddwSource.Immediate && !Options.AllowLddwPseudoSources)
        {
            throw Reject(pc, insn.Raw, $"the pseudo source {insn.Src} ({insn.PseudoSource}) is not allowed by this verifier");
        }

        var next = code[pc + 1];
        (string Field, int Value)? bad =
            next.OpCode != 0 ? ("opcode", next.OpCode)
            : next.Dst != 0 ? ("dst", next.Dst)
            : next.Src != 0 ? ("src", next.Src)
            : next.Offset != 0 ? ("offset", next.Offset)
            : null;
        if (bad is { } b)
        {
            throw new EbpfVerificationException(pc + 1, next, Invariant($"the second slot of the lddw at pc {pc} must have opcode, dst, src and offset 0, but its {b.Field} is {b.Value}"));
        }
    }

    /// <summary>Rejects the first field the operation leaves unused that is not 0.</summary>
    private static void Unused(int pc, in DecodedInstruction decoded)
    {
        var bad = decoded.NonZeroUnusedFields;
        var insn = decoded.Raw;
        (string Name, int Value)? first =
            (bad & InstructionFields.Dst) != 0 ? ("dst", insn.Dst)
            : (bad & InstructionFields.Src) != 0 ? ("src", insn.Src)
            : (bad & InstructionFields.Offset) != 0 ? ("offset", insn.Offset)
            : (bad & InstructionFields.Imm) != 0 ? ("imm", insn.Imm)
            : null;
        if (first is { } b)
        {
            throw Reject(pc, insn, Invariant($"the {b.Name} field is unused and must be 0, but it is {b.Value}"));
        }
    }

    private static EbpfVerificationException Reject(int pc, Instruction insn, string rule) =>
        new(pc, insn, $"{InstructionNames.Of(insn)}: {rule}");
}
