using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Compiler;

namespace Ebpf.Tests.X64;

/// <summary>
/// x64 code whose helper calls return to the managed run method (no GC transition, no reverse P/Invoke): which
/// programs qualify, that registers, stop requests and helper failures come through a call the same as on every
/// engine, and that such runs stay correct while another thread forces garbage collections.
/// </summary>
public class HelperReturnTests
{
    [Theory]
    [InlineData("mov r1, 1\ncall 1\nexit", true, false)]
    [InlineData("mov r1, 1\ncallx r1\nexit", true, false)]
    [InlineData("mov r6, 3\nmov r1, r6\ncall 1\nsub r6, 1\njne r6, 0, -4\nexit", true, false)] // every iteration calls
    [InlineData("mov r0, 1\nexit", false, false)] // no helper call, no loop: brief code
    [InlineData("mov r6, 3\nsub r6, 1\njne r6, 0, -2\nexit", true, true)] // a loop without any helper call: yields only
    [InlineData("mov r6, 3\nsub r6, 1\njne r6, 0, -2\ncall local f\nexit\nf:\nmov r0, 0\nexit", false, false)] // a loop and a local call, no helper call
    [InlineData("mov r6, 3\nsub r6, 1\njne r6, 0, -2\nmov r1, 1\ncall 1\nexit", true, true)] // a loop before the call
    [InlineData("call 1\nmov r6, 3\nsub r6, 1\njne r6, 0, -2\nexit", true, true)] // a loop after the call
    [InlineData("mov r6, 3\njeq r6, 1, +1\ncall 1\nsub r6, 1\njne r6, 0, -4\nexit", true, true)] // a path round the loop skips it
    [InlineData("call 1\ncall local f\nexit\nf:\nmov r0, 0\nexit", true, false)] // a local call (counted, see LocalFunctionHelperReturnTests)
    public void Programs_with_a_helper_call_qualify_and_those_with_a_loop_that_calls_none_yield(string source, bool applies, bool yields)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        var plan = HelperReturnAnalysis.Plan(program);
        Assert.Equal(applies, plan is not null);
        Assert.Equal(yields, plan?.Yields ?? false);
    }

    [Fact]
    public void The_yield_interval_shrinks_as_the_function_grows()
    {
        var small = HelperReturnAnalysis.Plan(
            EbpfProgram.Create(Assembler.Assemble("call 1\nmov r6, 3\nsub r6, 1\njne r6, 0, -2\nexit"), StructuralOnlyVerifier.Instance))!;
        var body = string.Concat(Enumerable.Repeat("add r0, 1\n", 1_000));
        var large = HelperReturnAnalysis.Plan(
            EbpfProgram.Create(Assembler.Assemble("call 1\nmov r6, 3\n" + body + "sub r6, 1\njne r6, 0, -1002\nexit"), StructuralOnlyVerifier.Instance))!;
        // Between two backward jumps the code passes each of its slots at most once (5 and 1,005 slots).
        Assert.Equal(HelperReturnAnalysis.MaxStretch / 5, small.YieldInterval);
        Assert.Equal(HelperReturnAnalysis.MaxStretch / 1_005, large.YieldInterval);
    }

    [Fact]
    public void A_program_longer_than_the_brief_limit_does_not_qualify()
    {
        var source = "call 1\n" + string.Concat(Enumerable.Repeat("add r0, 1\n", BriefCode.MaxSlots)) + "exit";
        Assert.False(HelperReturnAnalysis.Applies(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance)));
    }

    /// <summary>r6-r9 survive a helper call; r1-r5 reach the helper; r0 is the result; three calls in a loop.</summary>
    private const string RegisterProgram = """
        mov r6, 6
        mov r7, 7
        mov r8, 8
        mov r9, 9
        mov r0, 0
        loop:
        mov r1, r6
        mov r2, r7
        mov r3, r8
        mov r4, r9
        mov r5, r0
        call 1
        add r6, r0
        add r7, 1
        jlt r7, 10, loop
        mov r0, r6
        lsh r0, 8
        add r0, r8
        lsh r0, 8
        add r0, r9
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Registers_survive_helper_calls_in_a_loop(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "mix", (a, b, c, d, e) => a + (b * 10) + (c * 100) + (d * 1000) + (e * 10000));
        using var compiled = TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(RegisterProgram), StructuralOnlyVerifier.Instance), environment);

        // By hand: r7 = 7, 8, 9; r0 = r6 + 10*r7 + 800 + 9000 + 10000*r0_prev; r6 += r0.
        ulong r6 = 6, r0 = 0;
        for (ulong r7 = 7; r7 < 10; r7++)
        {
            r0 = r6 + (10 * r7) + 800 + 9000 + (10000 * r0);
            r6 += r0;
        }

        Assert.Equal((((r6 << 8) + 8) << 8) + 9, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_that_stops_the_run_ends_it_with_its_value_and_a_failing_helper_raises_at_its_pc(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "stop_at_3", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            if (a == 3)
            {
                context.Stop(77);
            }

            return a;
        });
        environment.Helpers.Add(2, "fail", (_, _, _, _, _) => throw new InvalidOperationException("no"));
        var stopping = EbpfProgram.Create(Assembler.Assemble("mov r6, 0\nadd r6, 1\nmov r1, r6\ncall 1\nja -4\nexit"), StructuralOnlyVerifier.Instance);
        using var stops = TestEngines.Get(engine).Compile(stopping, environment);
        Assert.Equal(77UL, stops.Run(new byte[8]));

        var failing = EbpfProgram.Create(Assembler.Assemble("mov r1, 1\ncall 2\nexit"), StructuralOnlyVerifier.Instance);
        using var fails = TestEngines.Get(engine).Compile(failing, environment);
        var error = Assert.Throws<EbpfHelperException>(() => fails.Run(new byte[8]));
        Assert.Equal(1, error.Pc);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    /// <summary>A loop of 100,000 iterations without a helper call, then a call.</summary>
    private const string YieldingProgram = """
        mov r6, 0
        mov r7, 0
        loop:
        add r7, r6
        add r6, 1
        jlt r6, 100000, loop
        mov r1, r7
        mov r2, 1
        call 1
        add r0, 7
        exit
        """;

    /// <summary>
    /// A full collection completes while <paramref name="run"/> (an endless run) goes on; then the run is cancelled and
    /// ends with the cancellation.
    /// </summary>
    private static async Task CollectsWhileRunning(Task<ulong> run, CancellationTokenSource source)
    {
        int before = GC.CollectionCount(2);
        GC.Collect();
        Assert.True(GC.CollectionCount(2) > before);
        Assert.False(run.IsCompleted, "the run ended before the collection did");
        await source.CancelAsync();
        await Assert.ThrowsAsync<EbpfRunCancelledException>(() => run);
    }

    private static ProgramEnvironment TripleEnvironment()
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "triple_add", (a, b, _, _, _) => (a * 3) + b);
        return environment;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_without_a_helper_call_runs_to_its_end_through_its_yields(string engine)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(YieldingProgram), StructuralOnlyVerifier.Instance);
        var plan = HelperReturnAnalysis.Plan(program)!;
        Assert.True(plan.YieldInterval < 100_000 / 10, "the loop yields at least ten times");
        using var compiled = TestEngines.Get(engine).Compile(program, TripleEnvironment());
        const ulong sum = 99_999UL * 100_000 / 2;
        Assert.Equal((sum * 3) + 1 + 7, compiled.Run(new byte[8]));
        Assert.Equal((sum * 3) + 1 + 7, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task An_endless_loop_without_a_helper_call_after_one_stops_in_its_loop_when_cancelled(string engine)
    {
        // pc 2 calls the helper; the loop (pcs 4-5) stores 1 into the input on every iteration. The token is cancelled
        // only once that store is seen, so the run is surely in the loop (cancelling on a timer, or as soon as the helper
        // was called, could land before the helper's return, where a run may stop as well).
        var program = EbpfProgram.Create(
            Assembler.Assemble("mov r6, r1\nmov r1, 1\ncall 1\nmov r7, 1\nstxb [r6+0], r7\nja -2\nexit"),
            StructuralOnlyVerifier.Instance);
        Assert.True(HelperReturnAnalysis.Plan(program)!.Yields);
        using var compiled = TestEngines.Get(engine).Compile(program, TripleEnvironment());
        var e = await StoreThenCancel.Run(compiled);
        Assert.Contains(e.Pc, (int[])[4, 5]); // the engines name the loop's jump or its target, as in CancellationTests
    }

    [Theory]
    [InlineData("call 1\nmov r6, 0\nlddw r7, 0x10000000000\nadd r6, 1\njlt r6, r7, -2\nmov r0, r6\nexit")]
    [InlineData("call 1\nmov r6, 0\nlddw r7, 0x10000000000\ncall local f\nadd r6, 1\njlt r6, r7, -3\nmov r0, r6\nexit\nf:\nmov r0, 1\nexit")]
    public async Task A_collection_completes_while_a_long_loop_without_helper_calls_runs(string text)
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // Helper 1 tells the test the run has started; then a loop of 2^40 iterations (hours) that calls no helper (the
        // second, a local function in each: the code yields at its local calls, see LocalFunctionHelperReturnTests): the
        // collection must not wait for it (the code yields to the run method, where the runtime can suspend the thread).
        using var started = new ManualResetEventSlim();
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "started", (_, _, _, _, _) =>
        {
            started.Set();
            return 0;
        });
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        Assert.True(HelperReturnAnalysis.Plan(program) is { } plan && (plan.Yields || plan.CountsCalls));
        using var compiled = new X64Engine().Compile(program, environment);
        using var source = new CancellationTokenSource();
        var run = Task.Run(() => compiled.Run(new byte[8], source.Token));
        Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the run did not start");
        await CollectsWhileRunning(run, source);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_collection_completes_while_a_long_loop_in_a_program_without_helper_calls_runs(bool memoryChecks)
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // A loop of 2^40 iterations (hours) with a store into the input (checked when memory checks are on: nothing
        // bounds r2) and no helper call: entered without the GC transition, checked or not, it must yield to the run
        // method, where the runtime can suspend the thread, or the collection would wait for the run's end.
        var program = EbpfProgram.Create(
            Assembler.Assemble("mov r6, 0\nlddw r7, 0x10000000000\nstxb [r1+0], r6\nadd r6, 1\njlt r6, r7, -3\nmov r0, r6\nexit"),
            StructuralOnlyVerifier.Instance);
        Assert.True(HelperReturnAnalysis.Plan(program, loopsWithoutCalls: true)!.Yields);
        Assert.Null(HelperReturnAnalysis.Plan(program, loopsWithoutCalls: false));
        using var compiled = new X64Engine().Compile(program, null, new ExecutionOptions { MemoryChecks = memoryChecks });
        using var source = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        var run = Task.Run(() =>
        {
            started.Set();
            return compiled.Run(new byte[8], source.Token);
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the run did not start");
        await Task.Delay(50);
        await CollectsWhileRunning(run, source);
    }

    /// <summary>
    /// Helper 1000 (rbpf-style, called through the host) then 2^31 iterations (seconds: long enough that a collection
    /// waiting for the run's end is seen to, short enough that such a test fails rather than hangs) whose only call is
    /// <c>bpf_map_lookup_elem</c> on array map 0, which il and x64 compile inline: r6 counts the iterations.
    /// </summary>
    private static EbpfProgram InlineLookupLoop() => TestPrograms.Program(
        TestPrograms.I(OpCodes.Call, 0, 0, 0, 1000),
        TestPrograms.I(OpCodes.Mov64Imm, 6, 0, 0, 0),
        TestPrograms.I(OpCodes.StW, 10, 0, -4, 1),
        new Instruction[] { new(OpCodes.Lddw, 7, 0, 0, 0), new(0, 0, 0, 0, 0x100) }, // 2^40: endless for the test
        TestPrograms.I(OpCodes.Mov64Reg, 2, 10), // loop (pc 5)
        TestPrograms.I(OpCodes.Add64Imm, 2, 0, 0, -4),
        new Instruction[] { new(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0) },
        TestPrograms.I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem), // pc 9
        TestPrograms.I(OpCodes.Add64Imm, 6, 0, 0, 1),
        TestPrograms.I(OpCodes.JltReg, 6, 7, -7),
        TestPrograms.I(OpCodes.Mov64Reg, 0, 6),
        TestPrograms.I(OpCodes.Exit));

    [Fact]
    public void A_loop_whose_only_call_is_made_inline_yields()
    {
        // The lookup at pc 9 does not leave the code when it is inline, so the loop calls nothing that returns to the host.
        var program = InlineLookupLoop();
        Assert.False(HelperReturnAnalysis.Plan(program)!.Yields);
        Assert.True(HelperReturnAnalysis.Plan(program, inline: pc => pc == 9)!.Yields);
        Assert.True(HelperReturnAnalysis.Plan(program, loopsWithoutCalls: false, inline: pc => pc == 9)!.Yields);
    }

    [Fact]
    public async Task A_collection_completes_while_a_long_loop_of_inline_lookups_runs()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // The loop's lookup is compiled inline, so the code never returns to the run method for it: entered without the
        // GC transition, the loop must yield, or the collection waits for the run's end.
        using var map = new ArrayMap(new MapDefinition("a", BpfMapType.Array, 4, 8, 8));
        var environment = LinuxHelpers.Register(new ProgramEnvironment(), new LinuxHelperOptions());
        environment.AddMap(map);
        using var started = new ManualResetEventSlim();
        environment.Helpers.Add(1000, "started", (_, _, _, _, _) =>
        {
            started.Set();
            return 0;
        });
        using var compiled = new X64Engine().Compile(InlineLookupLoop(), environment);
        using var source = new CancellationTokenSource();
        var run = Task.Run(() => compiled.Run(new byte[8], source.Token));
        Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the run did not start");
        await CollectsWhileRunning(run, source);
    }

    [Fact]
    public async Task Helper_calling_runs_stay_correct_on_several_threads_while_another_collects_garbage()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        var environment = new ProgramEnvironment();
        var garbage = new object?[64];

        // The helper allocates, so collections also start inside helper calls, beneath the run method.
        environment.Helpers.Add(1, "triple_add_allocating", (a, b, _, _, _) =>
        {
            garbage[(int)(a & 63)] = new byte[64];
            return (a * 3) + b;
        });

        // Four ways through helper calls: returning to the host for each call (a loop whose every iteration calls),
        // yielding from a loop without a call, the same loop in a local function (returning to the host with its frame
        // saved), and through the dispatcher and the GC transition (the local function longer than the brief limit).
        var loop = EbpfProgram.Create(
            Assembler.Assemble("mov r6, 0\nmov r7, 100\nmov r1, r7\nmov r2, r6\ncall 1\nmov r7, r0\nand r7, 0xffff\nadd r6, 1\njlt r6, 100, -7\nmov r0, r7\nexit"),
            StructuralOnlyVerifier.Instance);
        var yielding = EbpfProgram.Create(Assembler.Assemble(YieldingProgram), StructuralOnlyVerifier.Instance);
        const string Local = "call local f\nexit\nf:\nmov r6, 0\nmov r7, 100\nmov r1, r7\nmov r2, r6\ncall 1\nmov r7, r0\nand r7, 0xffff\nadd r6, 1\njlt r6, 100, -7\nmov r0, r7\nexit";
        var nested = EbpfProgram.Create(Assembler.Assemble(Local), StructuralOnlyVerifier.Instance);
        var dispatched = EbpfProgram.Create(
            Assembler.Assemble(Local.Replace("f:\n", "f:\n" + string.Concat(Enumerable.Repeat("mov r8, 0\n", BriefCode.MaxSlots)), StringComparison.Ordinal)),
            StructuralOnlyVerifier.Instance);
        Assert.False(HelperReturnAnalysis.Plan(loop)!.Yields);
        Assert.True(HelperReturnAnalysis.Plan(yielding)!.Yields);
        Assert.True(HelperReturnAnalysis.Plan(nested)!.CountsCalls);
        Assert.Null(HelperReturnAnalysis.Plan(dispatched));
        const ulong yielded = (99_999UL * 100_000 / 2 * 3) + 1 + 7;
        var cases = new (ICompiledProgram Compiled, ulong Expected)[]
        {
            (new X64Engine().Compile(loop, environment), ExpectedLoop()),
            (new X64Engine().Compile(yielding, environment), yielded),
            (new X64Engine().Compile(dispatched, environment), ExpectedLoop()),
            (new X64Engine().Compile(nested, environment), ExpectedLoop()),
        };

        try
        {
            using var stop = new CancellationTokenSource();
            var collector = GarbageCollections.ForceUntil(stop.Token);
            var runners = Enumerable.Range(0, cases.Length).Select(t => Task.Run(() =>
            {
                var (compiled, expected) = cases[t];
                var input = new byte[8];
                for (int i = 0; i < 2_000; i++)
                {
                    Assert.Equal(expected, compiled.Run(input));
                }
            })).ToArray();
            await Task.WhenAll(runners);
            await stop.CancelAsync();
            await collector;
        }
        finally
        {
            foreach (var (compiled, _) in cases)
            {
                compiled.Dispose();
            }
        }

        static ulong ExpectedLoop()
        {
            ulong r7 = 100;
            for (ulong r6 = 0; r6 < 100; r6++)
            {
                r7 = ((r7 * 3) + r6) & 0xffff;
            }

            return r7;
        }
    }
}
