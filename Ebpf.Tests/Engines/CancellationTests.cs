using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

/// <summary>Stopping runs from outside: a token, a timeout. A run that ignored them would make the test fail after
/// <see cref="Patience"/> instead of hanging the suite (the spinning run is then left behind).</summary>
public class CancellationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static EbpfProgram JumpToItself() => Program(I(OpCodes.Ja, offset: -1), I(OpCodes.Exit));

    private static EbpfProgram CountForever() =>
        // mov r0, 0; mov r1, 1; loop: add r0, 1; jne r1, 0, loop
        Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 1), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.JneImm, 1, 0, -2, 0), I(OpCodes.Exit));

    private static EbpfProgram CallInALoop() =>
        // main: loop: call f; ja loop; exit.  f: mov r0, 1; exit
        Program(I(OpCodes.Call, 0, 1, 0, 2), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit), I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.Exit));

    public static TheoryData<string, string> EnginesAndLoops()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, nameof(JumpToItself));
            data.Add(engine.Name, nameof(CountForever));
            data.Add(engine.Name, nameof(CallInALoop));
        }

        return data;
    }

    /// <summary>The program and the pcs of its endless loop (the JITs notice at the backward jump, the interpreter
    /// wherever its slice of instructions runs out).</summary>
    private static (EbpfProgram Program, int[] LoopPcs) Loop(string name) => name switch
    {
        nameof(JumpToItself) => (JumpToItself(), [0]),
        nameof(CountForever) => (CountForever(), [2, 3]),
        _ => (CallInALoop(), [0, 1, 3, 4]),
    };

    private static async Task<EbpfRunCancelledException> StopsWith(ICompiledProgram compiled, CancellationToken token)
    {
        var run = Task.Run(() => compiled.Run(Span<byte>.Empty, token));
        var ended = await Task.WhenAny(run, Task.Delay(Patience));
        Assert.True(ended == run, "the run did not stop");
        return await Assert.ThrowsAsync<EbpfRunCancelledException>(() => run);
    }

    [Theory]
    [MemberData(nameof(EnginesAndLoops))]
    public async Task A_cancelled_token_stops_an_endless_loop_at_its_backward_jump(string engine, string loop)
    {
        var (program, loopPcs) = Loop(loop);
        using var compiled = TestEngines.Get(engine).Compile(program);
        using var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        var e = await StopsWith(compiled, source.Token);
        Assert.Equal(RuntimeErrorKind.Cancelled, e.Kind);
        Assert.Equal(source.Token, e.CancellationToken);
        Assert.Null(e.Timeout);
        Assert.Contains(e.Pc, loopPcs);
        Assert.Equal("the run was cancelled", e.Detail);
    }

    [Theory]
    [MemberData(nameof(EnginesAndLoops))]
    public async Task A_timeout_stops_an_endless_loop(string engine, string loop)
    {
        var (program, loopPcs) = Loop(loop);
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(20) });
        var e = await StopsWith(compiled, CancellationToken.None);
        Assert.Equal(RuntimeErrorKind.TimedOut, e.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(20), e.Timeout);
        Assert.Contains(e.Pc, loopPcs);
        Assert.Equal("the run took longer than its timeout of 0.02 s", e.Detail);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_timeout_also_applies_to_runs_without_a_token(string engine)
    {
        using var compiled = TestEngines.Get(engine).Compile(JumpToItself(), options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(10) });
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run());
        Assert.Equal(RuntimeErrorKind.TimedOut, e.Kind);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_token_cancelled_before_the_run_stops_it_in_its_loop(string engine)
    {
        using var compiled = TestEngines.Get(engine).Compile(CountForever());
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(Span<byte>.Empty, new CancellationToken(canceled: true)));
        Assert.Equal(RuntimeErrorKind.Cancelled, e.Kind);
        Assert.Contains(e.Pc, (int[])[2, 3]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Runs_that_end_in_time_return_their_result_and_leave_the_timer_reusable(string engine)
    {
        // mov r0, 0; mov r1, 300000; loop: add r0, 2; sub r1, 1; jne r1, 0, loop; exit (longer than one interpreter slice)
        var program = Program(
            I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 300_000), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Sub64Imm, 1, imm: 1),
            I(OpCodes.JneImm, 1, 0, -3, 0), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Timeout = TimeSpan.FromSeconds(30) });
        using var source = new CancellationTokenSource();
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(600_000UL, compiled.Run(Span<byte>.Empty, source.Token));
            Assert.Equal(600_000UL, compiled.Run());
        }

        using var quick = TestEngines.Get(engine).Compile(JumpToItself(), options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(5) });
        Assert.Throws<EbpfRunCancelledException>(() => quick.Run());
        Assert.Equal(600_000UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_budget_stops_a_cancellable_run_at_the_same_instruction_as_an_uncancellable_one(string engine)
    {
        // mov r0, 0; loop: add r0, 1; ja loop  (budget larger than several interpreter slices)
        var program = Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit));
        var options = new ExecutionOptions { InstructionBudget = 200_001 };
        using var compiled = TestEngines.Get(engine).Compile(program, options: options);
        using var source = new CancellationTokenSource();
        var plain = Assert.Throws<EbpfBudgetExceededException>(() => compiled.Run());
        var cancellable = Assert.Throws<EbpfBudgetExceededException>(() => compiled.Run(Span<byte>.Empty, source.Token));
        // 1 + 2 * 100,000 instructions fit: the next one, the add at pc 1, exceeds the budget.
        Assert.Equal((1, 1), (plain.Pc, cancellable.Pc));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_loop_around_a_slow_helper_stops_when_the_helper_returns(string engine)
    {
        var helpers = new Ebpf.Helpers.HelperTable();
        helpers.Set(1, "nap", (_, _, _, _, _) =>
        {
            Thread.Sleep(1);
            return 0;
        });
        // loop: call nap; ja loop
        using var compiled = TestEngines.Get(engine).Compile(Program(I(OpCodes.Call, imm: 1), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit)), new ProgramEnvironment(helpers));
        using var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        var e = await StopsWith(compiled, source.Token);
        Assert.Equal(RuntimeErrorKind.Cancelled, e.Kind);
        Assert.Contains(e.Pc, (int[])[0, 1]);
    }

    [Fact]
    public void Timeouts_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionOptions { Timeout = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionOptions { Timeout = TimeSpan.FromDays(60) }.Validate());
        Assert.Equal(TimeSpan.FromDays(1), new ExecutionOptions { Timeout = TimeSpan.FromDays(1) }.Validate().Timeout);
    }
}
