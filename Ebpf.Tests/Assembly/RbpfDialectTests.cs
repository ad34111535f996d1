using Ebpf.Assembly;

namespace Ebpf.Tests.Assembly;

public class RbpfDialectTests
{
    [Fact]
    public void The_rbpf_documentation_example_assembles_to_its_documented_bytes()
    {
        // The example from rbpf's documentation, with the bytes it documents.
        var bytes = Assembler.AssembleBytes("add64 r1, 0x605\nmov64 r2, 0x32\nmov64 r1, r0\nbe16 r0\nneg64 r2\nexit");
        byte[] expected =
        [
            0x07, 0x01, 0x00, 0x00, 0x05, 0x06, 0x00, 0x00,
            0xb7, 0x02, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00,
            0xbf, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xdc, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
            0x87, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void The_rbpf_documentation_example_disassembles_to_the_canonical_text()
    {
        var bytes = Assembler.AssembleBytes("add64 r1, 0x605\nmov64 r2, 0x32\nmov64 r1, r0\nbe16 r0\nneg64 r2\nexit");
        Assert.Equal("add64 r1, 0x605\nmov64 r2, 0x32\nmov64 r1, r0\nbe16 r0\nneg64 r2\nexit\n", Disassembler.ToText(bytes));
    }

    [Fact]
    public void Rbpf_disassembler_style_with_hex_offsets_is_read()
    {
        // rbpf's own disassembler writes hex memory and jump offsets; they must be read as the same instructions.
        var code = Assembler.Assemble("""
            ldxw r1, [r2+0x5]
            stw [r2+0x5], 0x7
            stxh [r1+0x2], r3
            ja +0x8
            jsge r1, r2, -0x3
            jsle32 r1, 0x2, -0x3
            call 0x3
            lddw r1, 0xff11ee22dd33cc44
            ldinddw r1, 0x2
            ldabsdw 0x1
            mov32 r1, 0x2
            arsh64 r1, r2
            exit
            """);
        Assert.Equal(14, code.Length);
        Assert.Equal(Convert.FromHexString("6121050000000000"), code[0].ToBytes());
        Assert.Equal(Convert.FromHexString("0500080000000000"), code[3].ToBytes());
        Assert.Equal(Convert.FromHexString("7d21fdff00000000"), code[4].ToBytes());
        Assert.Equal(Convert.FromHexString("d601fdff02000000"), code[5].ToBytes());
        Assert.Equal(Convert.FromHexString("1801000044cc33dd"), code[7].ToBytes());
        Assert.Equal(Convert.FromHexString("0000000022ee11ff"), code[8].ToBytes());
        Assert.Equal(code, Assembler.Assemble(Disassembler.ToText(code)));
    }
}
