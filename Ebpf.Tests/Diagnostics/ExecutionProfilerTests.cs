using Ebpf.Diagnostics;
using Ebpf.Interpreter;
using Ebpf.Verification;

namespace Ebpf.Tests.Diagnostics;

public class ExecutionProfilerTests
{
    [Fact]
    public void The_loop_counts_every_pc_and_finds_its_three_blocks()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        var profiler = new ExecutionProfiler();
        Assert.Equal(15UL, compiled.Run([], [], profiler));

        var profile = profiler.GetProfile(compiled.Program);
        Assert.Equal([1L, 1, 5, 5, 5, 1], profile.Counts.ToArray());
        Assert.Equal(18, profile.TotalInstructions);
        Assert.Equal(
            [new BasicBlockProfile(0, 2, 1, 2), new BasicBlockProfile(2, 5, 5, 15), new BasicBlockProfile(5, 6, 1, 1)],
            profile.Blocks);
        Assert.Equal(new BasicBlockProfile(2, 5, 5, 15), profile.Hottest(1).Single());
    }

    [Fact]
    public void Counts_accumulate_over_runs_and_untaken_blocks_are_not_hot()
    {
        // r0 is unset on the taken path (the engines give 0; the default, hybrid, verification refuses that read).
        using var compiled = new InterpreterEngine().CompileObservable(
            DiagnosticPrograms.Load("jeq r2, 0, +1\nmov r0, 1\nexit"), options: new ExecutionOptions { Verification = VerificationMode.Structural });
        var profiler = new ExecutionProfiler();
        compiled.Run([], [], profiler);
        compiled.Run([], [], profiler);

        var profile = profiler.GetProfile(compiled.Program);
        Assert.Equal([2L, 0, 2], profile.Counts.ToArray());
        Assert.Equal([0, 2], profile.Hottest(10).Select(b => b.Start));
        Assert.Equal([compiled.Program], profiler.Programs);
    }

    [Fact]
    public void A_program_never_run_has_zero_counts()
    {
        var program = DiagnosticPrograms.Load(DiagnosticPrograms.Loop);
        var profile = new ExecutionProfiler().GetProfile(program);
        Assert.Equal(0, profile.TotalInstructions);
        Assert.Empty(profile.Hottest(5));
    }
}
