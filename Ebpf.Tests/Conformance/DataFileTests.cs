using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Conformance;

public class DataFileTests
{
    [Fact]
    public void The_suite_has_313_tests()
    {
        Assert.Equal(313, ConformanceSuite.TestNames().Count);
    }

    [Theory]
    [MemberData(nameof(ConformanceSuite.TestNames), MemberType = typeof(ConformanceSuite))]
    public void Every_test_file_parses_with_a_program_and_a_result(string name)
    {
        var test = ConformanceSuite.Load(name);
        Assert.False(test.Asm is null && test.Raw is null, "no asm or raw section");
        Assert.NotNull(test.Result);
    }

    [Fact]
    public void Sections_are_read()
    {
        var test = ConformanceTest.Parse(
            "# comment\n-- asm\nmov %r0, 1\n# inner comment\nexit\n-- mem\n00 01\nff\n-- result\n0x2a\n-- no register offset\ncall instruction\n",
            "t");
        Assert.Equal("mov %r0, 1\n\nexit", test.Asm);
        Assert.Equal(3, test.AsmFirstLine);
        Assert.Equal(new byte[] { 0x00, 0x01, 0xff }, test.Memory);
        Assert.Equal(0x2aUL, test.Result);
        Assert.Equal("call instruction", test.NoRegisterOffset);
    }

    [Fact]
    public void Raw_words_are_little_endian_slots()
    {
        var test = ConformanceTest.Parse("-- raw\n0x5566778800000018\n0x0000000000000095\n-- result\n0x0\n", "t");
        Assert.Equal(new byte[] { 0x18, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x95, 0, 0, 0, 0, 0, 0, 0 }, test.Raw);
    }

    [Fact]
    public void Unknown_section_is_a_positioned_error()
    {
        var e = Assert.Throws<EbpfAssemblyException>(() => ConformanceTest.Parse("-- asm\nexit\n-- Unknown directive\n", "t"));
        Assert.Equal(3, e.Line);
        Assert.Equal(1, e.Column);
        Assert.Contains("unknown section", e.Message);
    }

    [Fact]
    public void Bad_hex_is_a_positioned_error()
    {
        var e = Assert.Throws<EbpfAssemblyException>(() => ConformanceTest.Parse("-- mem\n00 zz\n", "t"));
        Assert.Equal((2, 4), (e.Line, e.Column));
    }
}
