using Ebpf.Assembly;
using Ebpf.Isa;

namespace Ebpf.Tests.Assembly;

public class DisassemblerTests
{
    private static readonly byte[] Program = Convert.FromHexString(
        "b700000001000000" + "1801000088776655" + "0000000044332211" + "9500000000000000");

    [Fact]
    public void Listing_gives_pc_bytes_and_text_with_lddw_on_one_line()
    {
        var lines = Disassembler.Disassemble(Program);
        Assert.Equal(3, lines.Count);
        Assert.Equal((0, 1, "mov64 r0, 0x1"), (lines[0].Pc, lines[0].SlotCount, lines[0].Text));
        Assert.Equal((1, 2, "lddw r1, 0x1122334455667788"), (lines[1].Pc, lines[1].SlotCount, lines[1].Text));
        Assert.Equal(Program.AsSpan(8, 16).ToArray(), lines[1].Bytes);
        Assert.Equal((3, 1, "exit"), (lines[2].Pc, lines[2].SlotCount, lines[2].Text));
        Assert.All(lines, l => Assert.True(l.IsInstruction));
    }

    [Fact]
    public void Listing_of_slots_equals_listing_of_bytes()
    {
        var fromSlots = Disassembler.Disassemble(Instruction.DecodeAll(Program));
        var fromBytes = Disassembler.Disassemble(Program);
        Assert.Equal(fromBytes.Select(l => (l.Pc, l.SlotCount, l.Text)), fromSlots.Select(l => (l.Pc, l.SlotCount, l.Text)));
        Assert.Equal(Disassembler.ToText(Program), Disassembler.ToText(Instruction.DecodeAll(Program)));
    }

    [Fact]
    public void Text_reassembles_to_the_same_bytes()
    {
        Assert.Equal("mov64 r0, 0x1\nlddw r1, 0x1122334455667788\nexit\n", Disassembler.ToText(Program));
        Assert.Equal(Program, Assembler.AssembleBytes(Disassembler.ToText(Program)));
    }

    [Fact]
    public void Dump_shows_pc_hex_and_text()
    {
        string expected =
            "    0: b7 00 00 00 01 00 00 00  mov64 r0, 0x1\n" +
            "    1: 18 01 00 00 88 77 66 55  lddw r1, 0x1122334455667788\n" +
            "    2: 00 00 00 00 44 33 22 11\n" +
            "    3: 95 00 00 00 00 00 00 00  exit\n";
        Assert.Equal(expected, Disassembler.Dump(Program));
    }

    [Fact]
    public void Trailing_bytes_are_named_and_never_throw()
    {
        var bytes = Convert.FromHexString("9500000000000000" + "010203");
        var lines = Disassembler.Disassemble(bytes);
        Assert.Equal(2, lines.Count);
        Assert.Equal((1, 0), (lines[1].Pc, lines[1].SlotCount));
        Assert.Equal(new byte[] { 1, 2, 3 }, lines[1].Bytes);
        Assert.Equal("# 3 trailing byte(s) that do not form an instruction: 010203", lines[1].Text);
        Assert.False(lines[1].IsInstruction);
        Assert.Equal("    1: 01 02 03" + new string(' ', 17) + "# 3 trailing byte(s) that do not form an instruction: 010203\n", Disassembler.Dump(bytes).Split('\n', 2)[1]);
        Assert.Equal(bytes.AsSpan(0, 8).ToArray(), Assembler.AssembleBytes(Disassembler.ToText(bytes)));
    }

    [Fact]
    public void Lone_or_broken_lddw_and_unknown_opcodes_print_as_raw_slots()
    {
        // lddw at the end, then lddw followed by a slot that is not its second half.
        var lone = Disassembler.Disassemble(Convert.FromHexString("1800000005000000"));
        Assert.Equal(".slot 0x0000000500000018 # first slot of lddw r0 (low half 0x5)", Assert.Single(lone).Text);
        Assert.False(lone[0].IsInstruction);

        var broken = Convert.FromHexString("1800000005000000" + "9500000000000000" + "ff00000000000000");
        var lines = Disassembler.Disassemble(broken);
        Assert.Equal([".slot 0x0000000500000018 # first slot of lddw r0 (low half 0x5)", "exit", ".slot 0x00000000000000ff # unknown opcode 0xff"], lines.Select(l => l.Text));
        Assert.Equal(broken, Assembler.AssembleBytes(Disassembler.ToText(broken)));
    }

    [Fact]
    public void Empty_input_gives_an_empty_listing()
    {
        Assert.Empty(Disassembler.Disassemble(ReadOnlySpan<byte>.Empty));
        Assert.Equal(string.Empty, Disassembler.ToText(ReadOnlySpan<byte>.Empty));
        Assert.Equal(string.Empty, Disassembler.Dump(ReadOnlySpan<byte>.Empty));
    }
}
