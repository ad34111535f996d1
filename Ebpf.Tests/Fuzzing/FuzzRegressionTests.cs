using Ebpf.Assembly;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Fuzzing;

/// <summary>Defects the fuzz campaigns found, each pinned on every engine.</summary>
public class FuzzRegressionTests
{
    /// <summary>
    /// The differential target (AFL++, fuzz/run.sh diff): with an unresolvable <c>lddw</c> pseudo source before a call
    /// of an unknown helper, the IL engine reported the helper (it resolved helpers in a pass of their own before the
    /// lddw) while the others reported the lddw; with the shared helper plan every engine did. The first defective
    /// instruction in program order is the one reported (the plan checks lddw too).
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_first_unresolvable_instruction_in_program_order_is_reported(string engine)
    {
        var lddwFirst = ProgramLoader.Load(Assembler.AssembleBytes("lddw r4, map_value_by_fd 0x1111111111111111\nmov r0, 0\ncall 16772223\nexit"));
        var error = Assert.ThrowsAny<EbpfCompilationException>(() => TestEngines.Get(engine).Compile(lddwFirst));
        Assert.IsNotType<EbpfUnknownHelperException>(error);
        Assert.Equal(0, error.Pc);

        var callFirst = ProgramLoader.Load(Assembler.AssembleBytes("mov r0, 0\ncall 16772223\nlddw r4, map_value_by_fd 0x1111111111111111\nexit"));
        var unknown = Assert.Throws<EbpfUnknownHelperException>(() => TestEngines.Get(engine).Compile(callFirst));
        Assert.Equal(1, unknown.Pc);
    }
}
