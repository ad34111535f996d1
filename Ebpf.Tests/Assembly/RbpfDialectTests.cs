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
}
