using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// A tail-call target with local calls, entered from a caller without any: its call depth is limited as in a run of its
/// own. (x64 enters such a target from the host today, multi-function code not being one whose helper calls return to
/// the host; were it entered by the jump, its call limit would be a block word the caller's run did not fill, which the
/// tail entry does not copy: this test would then catch an unbounded recursion.)
/// </summary>
public class TailTargetCallDepthTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Endless_recursion_in_a_target_stops_at_the_call_depth(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));
        using var caller = TestEngines.Get(engine).Compile(Program(TailCallThroughMap0(0), I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit)), environment);
        using var target = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Mov64Reg, 6, 1),
                TailCallThroughMap0(7),
                I(OpCodes.Mov64Imm, 1, imm: 0),
                I(OpCodes.Call, 0, 1, 0, 1),
                I(OpCodes.Exit),
                I(OpCodes.Add64Imm, 1, imm: 1),
                I(OpCodes.Call, 0, 1, 0, -2),
                I(OpCodes.Exit)),
            environment);
        programs.Set(0, target);

        var e = Assert.Throws<EbpfCallDepthExceededException>(() => caller.Run(new byte[4]));
        Assert.Equal(RuntimeErrorKind.CallDepthExceeded, e.Kind);
        Assert.Equal(9, e.Pc);
    }
}
