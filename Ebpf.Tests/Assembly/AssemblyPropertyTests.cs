using CsCheck;
using Ebpf.Assembly;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Assembly;

public class AssemblyPropertyTests
{
    // Mostly real instruction forms (from the shared generator), plus raw 64-bit words.
    private static readonly Gen<Instruction> AnySlot = Gen.Frequency(
        (1, Gen.ULong.Select(Instruction.FromRaw)),
        (3, InstructionGenerators.PlausibleSlot));

    [Fact]
    public void Decoding_and_disassembling_arbitrary_bytes_throws_only_the_projects_exceptions()
    {
        Gen.Byte.Array[0, 80].Sample(bytes =>
        {
            try
            {
                _ = Instruction.DecodeAll(bytes);
            }
            catch (EbpfException)
            {
                Assert.NotEqual(0, bytes.Length % Instruction.SlotSize);
            }

            var lines = Disassembler.Disassemble(bytes);
            Assert.Equal(bytes, lines.SelectMany(l => l.Bytes).ToArray());
            _ = Disassembler.Dump(bytes);
            var whole = bytes.AsSpan(0, bytes.Length - (bytes.Length % Instruction.SlotSize)).ToArray();
            Assert.Equal(whole, Assembler.AssembleBytes(Disassembler.ToText(bytes)));
        }, iter: 3000);
    }

    [Fact]
    public void Formatting_any_slot_then_assembling_gives_the_slot_back()
    {
        int instructions = 0;
        AnySlot.Sample(insn =>
        {
            string text = InstructionFormatter.Format(insn);
            Assert.Equal([insn], Assembler.Assemble(text));
            if (!text.StartsWith(InstructionFormatter.SlotDirective, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref instructions);
            }
        }, iter: 20000);

        // The generator must reach the real instruction forms, not only raw slots.
        Assert.True(instructions > 2000, $"only {instructions} of 20000 samples were instructions");
    }

    [Fact]
    public void Formatting_any_pair_then_assembling_gives_the_slots_back()
    {
        Gen.Select(AnySlot, AnySlot, Gen.Bool).Sample((a, b, wide) =>
        {
            var first = wide ? new Instruction(OpCodes.Lddw, a.Dst, (byte)(a.Src % 8), 0, a.Imm) : a;
            var second = wide && b.Imm % 2 == 0 ? new Instruction(0, 0, 0, 0, b.Imm) : b;
            var code = new[] { first, second };
            Assert.Equal(code, Assembler.Assemble(Disassembler.ToText(code)));
        }, iter: 5000);
    }

    [Fact]
    public void Assembling_arbitrary_token_soup_throws_only_assembly_errors()
    {
        var token = Gen.OneOf(
            "mov", "mov32", "lddw", "lock", "fetch", "add32", "xchg", "ja", "ja32", "jeq", "jne32", "call", "local", "helper",
            "exit", "ldxw", "ldxsb", "stw", "stxdw", "stxxaddw", ".slot", "movsx832", "be16", "ldindb", "ldabsw", "callx",
            "map_by_fd", "r1", "%r2", "r10", "r11", "%r99", "%x", "[", "]", "+", "-", ",", ":", "0", "0x10", "0xffffffff",
            "99999999999999999999", "0x1g", "5", "L", "L:", "exit:", "#c", ";", "\n", "@");
        token.Array[0, 14].Select(parts => string.Join(' ', parts).Replace("\\n", "\n", StringComparison.Ordinal)).Sample(text =>
        {
            try
            {
                var code = Assembler.Assemble(text);
                Assert.Equal(code, Assembler.Assemble(Disassembler.ToText(code)));
            }
            catch (EbpfAssemblyException e)
            {
                Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
            }
        }, iter: 20000);
    }
}
