using Ebpf.Assembly;
using Ebpf.Fuzzing.Generation;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>The kernel-style shapes of the campaign generator: what they compute on every engine, and that they occur.</summary>
public class GeneratedShapeTests
{
    private static ulong Run(string engine, string asm, byte[] input)
    {
        using var compiled = TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(asm), StructuralOnlyVerifier.Instance), GeneratedEnvironment.Create());
        return compiled.Run(input);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_map_lookup_with_a_null_check_reads_the_value_or_gives_zero(string engine)
    {
        const string lookup = "mov r2, {0}\ncall 5\njeq r0, 0, +1\nldxdw r0, [r0+{1}]\nexit";
        Assert.Equal(0x0123456789abcdefUL * 2, Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, lookup, 1, 8), []));
        Assert.Equal(0xfedcba9876543210UL ^ 3, Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, lookup, 3, 0), []));
        Assert.Equal(0UL, Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, lookup, 6, 0), []));
        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, lookup, 3, 12), []));
        Assert.Equal(3, error.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_bounds_checked_packet_read_reads_only_inside_the_length(string engine)
    {
        const string checkedLoad = "mov r0, 7\nmov r3, {0}\njgt r3, r2, +1\nldxh r0, [r1+{1}]\nexit";
        byte[] packet = [0x10, 0x20, 0x30, 0x40];
        Assert.Equal(0x4030UL, Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, checkedLoad, 4, 2), packet));
        Assert.Equal(7UL, Run(engine, string.Format(System.Globalization.CultureInfo.InvariantCulture, checkedLoad, 5, 3), packet));
    }

    [Fact]
    public void The_campaign_generates_both_shapes()
    {
        var environment = GeneratedEnvironment.Create();
        var programs = Enumerable.Range(0, 300).Select(i => GeneratedCases.Create(1, i, environment).Program.Instructions).ToList();
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.Call && s.Imm == GeneratedEnvironment.LookupHelper));
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.JgtReg && s.Src == 2));
    }
}
