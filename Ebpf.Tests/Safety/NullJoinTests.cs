using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Safety;

/// <summary>
/// A map lookup's result on one path and null on the other (<c>v = len ? lookup(&amp;key) : NULL; if (v) r0 = *v</c>):
/// the analysis joins them into a map value or null, so the read after the null check is proven and every engine runs
/// it without a check; the runs give the value, or the fallback when the path skipped the lookup or the key is missing.
/// </summary>
public class NullJoinTests
{
    private const int ReadPc = 11;

    /// <summary>r6 = 0; if (len >= 1) r6 = lookup(key); r0 = 7; if (r6 != 0) r0 = *(u64 *)r6.</summary>
    private static EbpfProgram LookupOrNull(int key) => Program(
        I(OpCodes.Mov64Imm, 6, 0, 0, 0),
        I(OpCodes.JltImm, 2, 0, 7, 1),
        I(OpCodes.StW, 10, 0, -4, key),
        new Instruction[] { new(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Mov64Reg, 6, 0),
        I(OpCodes.Mov64Imm, 0, 0, 0, 7),
        I(OpCodes.JeqImm, 6, 0, 1, 0),
        I(OpCodes.LdxDW, 0, 6, 0),
        I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_read_after_the_null_check_is_proven_and_reads_the_value(string engine)
    {
        using var map = new ArrayMap(new MapDefinition("a", BpfMapType.Array, 4, 8, 4));
        map.Update(BitConverter.GetBytes(3u), BitConverter.GetBytes(0x1234_5678_9abcUL));
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(map);

        var present = LookupOrNull(3);
        Assert.Equal(AccessOutcome.Proven, present.Analysis.Safety(SafetyContext.For(environment)).Access(ReadPc).Outcome);
        using (var compiled = TestEngines.Get(engine).Compile(present, environment))
        {
            Assert.Equal(0x1234_5678_9abcUL, compiled.Run(new byte[1]));
            Assert.Equal(7UL, compiled.Run(Array.Empty<byte>()));
        }

        using var missing = TestEngines.Get(engine).Compile(LookupOrNull(9), environment);
        Assert.Equal(7UL, missing.Run(new byte[1]));
    }
}
