using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// The x64 program's own helper loop (see <c>X64CompiledProgram.helperLoop</c>), which calls the rbpf-style helpers
/// whose entry points the code leaves with by name: which programs get one, and that it and the common loop
/// (<c>OwnHelperLoops = false</c>, what NativeAOT runs) give the same results, errors and stops, including runs that
/// hand over from one to the other. Expected values are worked out by hand from the programs.
/// </summary>
public class OwnHelperLoopTests
{
    public static TheoryData<bool> Loops() => [true, false];

    private static X64Engine Engine(bool ownLoop) => new() { HelperLoops = ownLoop ? HelperLoopTiming.AtCompile : HelperLoopTiming.Never };

    private static X64CompiledProgram Compile(bool ownLoop, string source, params Helper[] helpers)
    {
        var table = new HelperTable();
        foreach (var helper in helpers)
        {
            table.Add(helper);
        }

        return (X64CompiledProgram)Engine(ownLoop).Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), new ProgramEnvironment(table));
    }

    private static ulong First(ulong a, ulong b, ulong c, ulong d, ulong e) => (a * 3) + b + (c << 16) + (d << 24) + (e << 32);

    private static ulong Second(ulong a, ulong b, ulong c, ulong d, ulong e) => (a ^ 0x5555) + (b << 4);

    /// <summary>Ten calls each to helpers 1 and 2, alternating; r0 = the last result.</summary>
    private const string Alternating = """
        mov r6, 10
        mov r0, 1
        loop:
        mov r1, r0
        mov r2, r6
        mov r3, 3
        mov r4, 4
        mov r5, 5
        call 1
        mov r1, r0
        mov r2, r6
        call 2
        sub r6, 1
        jne r6, 0, loop
        exit
        """;

    private static ulong ExpectedAlternating(HelperFunction first, HelperFunction second)
    {
        ulong r0 = 1;
        for (ulong i = 10; i > 0; i--)
        {
            r0 = first(r0, i, 3, 4, 5);
            r0 = second(r0, i, 3, 4, 5);
        }

        return r0;
    }

    [Fact]
    public void Programs_whose_helpers_the_loop_calls_get_their_own_loop()
    {
        const string OneCall = "mov r1, 1\ncall 1\nexit";
        using (var compiled = Compile(true, OneCall, new Helper(1, "static", First)))
        {
            Assert.True(compiled.HasOwnHelperLoop);
        }

        using (var compiled = Compile(true, OneCall, new Helper(1, "lambda", static (a, _, _, _, _) => a + 1)))
        {
            Assert.True(compiled.HasOwnHelperLoop);
        }

        using (var compiled = Compile(true, OneCall, new Helper(1, "context", static (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) => a)))
        {
            Assert.True(compiled.HasOwnHelperLoop);
        }

        // A multicast delegate has no entry point: called as a delegate, by the common loop.
        var multicast = (HelperFunction)Delegate.Combine((HelperFunction)H1, (HelperFunction)H2)!;
        using (var compiled = Compile(true, OneCall, new Helper(1, "multicast", multicast)))
        {
            Assert.False(compiled.HasOwnHelperLoop);
            Assert.Equal(2UL, compiled.Run(new byte[8])); // the last function's result: H2(1)
        }

        using (var compiled = Compile(false, OneCall, new Helper(1, "static", First)))
        {
            Assert.False(compiled.HasOwnHelperLoop);
        }
    }

    [Fact]
    public void The_tests_build_every_own_loop_at_compile_time()
    {
        // The test project sets the switch, so the other helper tests run the own loop from the first run.
        Assert.Equal(HelperLoopTiming.AtCompile, X64CompiledProgram.DefaultHelperLoopTiming);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(
            EbpfProgram.Create(Assembler.Assemble("mov r1, 1\ncall 1\nexit"), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "h1", H1) }));
        Assert.True(compiled.HasOwnHelperLoop);
    }

    [Fact]
    public async Task By_default_a_program_gets_its_loop_once_hot_and_its_results_do_not_change()
    {
        var engine = new X64Engine { HelperLoops = HelperLoopTiming.WhenHot };
        using var compiled = (X64CompiledProgram)engine.Compile(
            EbpfProgram.Create(Assembler.Assemble(Countdown), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "h1", H1) }));
        for (int run = 1; run < X64CompiledProgram.HotRuns; run++)
        {
            Assert.Equal(2UL, compiled.Run(new byte[8])); // the last call: r1 = 1, H1 adds one
        }

        Assert.Null(compiled.HelperLoopBuild);
        Assert.False(compiled.HasOwnHelperLoop);
        Assert.Equal(2UL, compiled.Run(new byte[8])); // the hundredth run starts the build
        await compiled.HelperLoopBuild!.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(compiled.HasOwnHelperLoop);
        for (int run = 0; run < 10; run++)
        {
            Assert.Equal(2UL, compiled.Run(new byte[8]));
        }

        // A program whose only helper is called as a delegate never builds one.
        using var delegated = (X64CompiledProgram)engine.Compile(
            EbpfProgram.Create(Assembler.Assemble(Countdown), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "multicast", (HelperFunction)Delegate.Combine((HelperFunction)H2, (HelperFunction)H1)!) }));
        for (int run = 0; run < 2 * X64CompiledProgram.HotRuns; run++)
        {
            Assert.Equal(2UL, delegated.Run(new byte[8])); // the last call: r1 = 1, H1 adds one
        }

        Assert.Null(delegated.HelperLoopBuild);
        Assert.False(delegated.HasOwnHelperLoop);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Two_static_helpers_at_two_sites_each_get_their_own_calls(bool ownLoop)
    {
        using var compiled = Compile(ownLoop, Alternating, new Helper(1, "first", First), new Helper(2, "second", Second));
        Assert.Equal(ownLoop, compiled.HasOwnHelperLoop);
        Assert.Equal(ExpectedAlternating(First, Second), compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Two_closures_of_one_lambda_at_two_sites_each_get_their_own_target(bool ownLoop)
    {
        // One method, two targets: the loop tells them apart by the site, not by the method.
        static HelperFunction Tagged(ulong tag) => (a, b, c, d, e) => (a * 5) + b + tag;
        var first = Tagged(1_000_000);
        var second = Tagged(9_000_000_000);
        Assert.Equal(first.Method, second.Method);
        using var compiled = Compile(ownLoop, Alternating, new Helper(1, "first", first), new Helper(2, "second", second));
        Assert.Equal(ExpectedAlternating(Tagged(1_000_000), Tagged(9_000_000_000)), compiled.Run(new byte[8]));
    }

    private static ulong H1(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 1;

    private static ulong H2(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 2;

    private static ulong H3(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 3;

    private static ulong H4(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 4;

    private static ulong H5(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 5;

    private static ulong H6(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 6;

    private static ulong H7(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 7;

    private static ulong H8(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 8;

    private static ulong H9(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 9;

    private static ulong H10(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 10;

    [Theory]
    [MemberData(nameof(Loops))]
    public void Helpers_beyond_the_ones_the_loop_tells_apart_are_called_by_the_common_loop(bool ownLoop)
    {
        // Ten helper methods, more than the own loop compares (MaxLoopHelpers): the ninth hands the run over.
        HelperFunction[] functions = [H1, H2, H3, H4, H5, H6, H7, H8, H9, H10];
        Assert.True(functions.Length > X64CompiledProgram.MaxLoopHelpers);
        var source = "mov r6, 3\nmov r0, 1\nloop:\n"
            + string.Concat(Enumerable.Range(1, functions.Length).Select(id => $"mov r1, r0\ncall {id}\n"))
            + "sub r6, 1\njne r6, 0, loop\nexit";
        using var compiled = Compile(ownLoop, source, [.. functions.Select((function, i) => new Helper((uint)i + 1, $"h{i + 1}", function))]);
        ulong expected = 1;
        for (int round = 0; round < 3; round++)
        {
            expected = (((((((((expected + 1) * 2) + 3) * 4) + 5) * 6) + 7) * 8) + 9) * 10;
        }

        Assert.Equal(expected, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_context_helper_between_static_calls_gives_the_same_results(bool ownLoop)
    {
        const string Source = """
            mov r6, 4
            mov r0, 1
            mov r3, 0
            mov r4, 0
            mov r5, 0
            loop:
            mov r1, r0
            mov r2, r6
            call 1
            mov r1, r0
            call 2
            mov r1, r0
            mov r2, r6
            call 1
            sub r6, 1
            jne r6, 0, loop
            exit
            """;
        int contextCalls = 0;
        using var compiled = Compile(
            ownLoop,
            Source,
            new Helper(1, "first", First),
            new Helper(2, "context", (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) =>
            {
                contextCalls++;
                return a + 1_000;
            }));
        ulong expected = 1;
        for (ulong i = 4; i > 0; i--)
        {
            expected = First(First(expected, i, 0, 0, 0) + 1_000, i, 0, 0, 0);
        }

        Assert.Equal(expected, compiled.Run(new byte[8]));
        Assert.Equal(4, contextCalls);
        Assert.Equal(ownLoop, compiled.HasOwnHelperLoop);
    }

    private static ulong FailInvalid(ulong a, ulong b, ulong c, ulong d, ulong e) =>
        a == 3 ? throw new InvalidOperationException("third call") : a;

    private static readonly EbpfRuntimeException Own = new(RuntimeErrorKind.HelperFailed, 0, default, "the helper's own error");

    private static ulong FailOwn(ulong a, ulong b, ulong c, ulong d, ulong e) => a == 3 ? throw Own : a;

    /// <summary>Calls helper 1 with r1 = 5, 4, ..., 1 (pc 3 is the call).</summary>
    private const string Countdown = """
        mov r6, 5
        loop:
        mov r1, r6
        call 1
        sub r6, 1
        jne r6, 0, loop
        exit
        """;

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_helper_exception_is_reported_at_its_call_and_the_projects_own_passes_unchanged(bool ownLoop)
    {
        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "fail", FailInvalid)))
        {
            var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
            Assert.Equal(2, e.Pc);
            Assert.Equal("third call", Assert.IsType<InvalidOperationException>(e.InnerException).Message);
        }

        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "own", FailOwn)))
        {
            Assert.Same(Own, Assert.Throws<EbpfRuntimeException>(() => compiled.Run(new byte[8])));
        }

        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "lambda", static (a, _, _, _, _) => a == 2 ? throw new FormatException("lambda") : a)))
        {
            var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
            Assert.Equal(2, e.Pc);
            Assert.IsType<FormatException>(e.InnerException);
        }
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_run_cancelled_in_a_helper_stops_at_its_call_and_the_next_run_completes(bool ownLoop)
    {
        using var source = new CancellationTokenSource();
        ulong calls = 0;
        using var compiled = Compile(ownLoop, Countdown, new Helper(1, "cancel", (a, _, _, _, _) =>
        {
            calls++;
            if (a == 3)
            {
                source.Cancel();
            }

            return a;
        }));
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
        Assert.Equal(2, e.Pc);
        Assert.Equal(3UL, calls); // stopped after the third call returned, before a fourth
        Assert.Equal(1UL, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_context_helper_can_stop_the_run_fail_at_its_call_or_see_it_cancelled(bool ownLoop)
    {
        // Stops at the third call (r1 = 3): r0 is the stop value, nothing after the call runs.
        int calls = 0;
        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "stop", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            calls++;
            if (a == 3)
            {
                context.Stop(777);
            }

            return a;
        })))
        {
            Assert.Equal(ownLoop, compiled.HasOwnHelperLoop);
            Assert.Equal(777UL, compiled.Run(new byte[8]));
            Assert.Equal(3, calls);
        }

        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "fail", static (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) =>
            a == 2 ? throw new InvalidOperationException("context helper") : a)))
        {
            var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
            Assert.Equal(2, e.Pc);
            Assert.Equal("context helper", Assert.IsType<InvalidOperationException>(e.InnerException).Message);
        }

        using var source = new CancellationTokenSource();
        calls = 0;
        using (var compiled = Compile(ownLoop, Countdown, new Helper(1, "cancel", (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            calls++;
            if (a == 4)
            {
                source.Cancel();
            }

            return a;
        })))
        {
            var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
            Assert.Equal(2, e.Pc);
            Assert.Equal(2, calls);
        }
    }

    /// <summary>The sum of <paramref name="length"/> bytes at <paramref name="address"/>, read through the context's checked view.</summary>
    internal static ulong Sum(HelperContext context, ulong address, ulong length)
    {
        ulong sum = 0;
        foreach (byte b in context.GetMemory(address, length, MemoryAccessKind.Read))
        {
            sum += b;
        }

        return sum;
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_context_helper_reads_the_input_through_its_context(bool ownLoop)
    {
        // r1 = the input's address, r2 = its length: the helper sums the bytes through the checked view, twice.
        const string Source = "mov r6, r1\nmov r7, r2\ncall 1\nmov r8, r0\nmov r1, r6\nmov r2, r7\ncall 1\nadd r0, r8\nexit";
        using var compiled = Compile(ownLoop, Source, new Helper(1, "sum", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => Sum(context, a, b)));
        Assert.Equal(2UL * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8), compiled.Run([1, 2, 3, 4, 5, 6, 7, 8]));

        // Past the input's end: the context's check fails, at the call.
        using var beyond = Compile(ownLoop, "mov r2, 100\ncall 1\nexit", compiled.Environment.Helpers.First());
        var e = Assert.Throws<EbpfMemoryAccessException>(() => beyond.Run(new byte[8]));
        Assert.Equal(1, e.Pc);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Context_helpers_at_two_sites_report_their_own_call(bool ownLoop)
    {
        // pc 2 calls helper 1 (in bounds), pc 5 calls helper 2: its failure and its context's check name pc 5 and helper 2.
        const string Source = "mov r6, r1\nmov r2, 8\ncall 1\nmov r1, r6\nmov r2, 9\ncall 2\nexit";
        var inBounds = new Helper(1, "sum", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => Sum(context, a, b));
        using (var compiled = Compile(ownLoop, Source, inBounds, new Helper(2, "fails", static (HelperContext _, ulong _, ulong _, ulong _, ulong _, ulong _) =>
            throw new FormatException("second site"))))
        {
            var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
            Assert.Equal(5, e.Pc);
            Assert.Equal(2UL, e.HelperId);
            Assert.IsType<FormatException>(e.InnerException);
        }

        using (var compiled = Compile(ownLoop, Source, inBounds, new Helper(2, "sum too", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => Sum(context, a, b))))
        {
            // Nine bytes from an 8-byte input: the second call's context refuses them at pc 5.
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
            Assert.Equal(5, e.Pc);
        }
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void Runs_with_helper_calls_allocate_nothing(bool ownLoop)
    {
        // A static helper, a closure and a context helper at three sites, ten times a run.
        ulong captured = 5;
        const string Source = """
            mov r6, 10
            mov r0, 1
            loop:
            mov r1, r0
            mov r2, r6
            call 1
            mov r1, r0
            call 2
            mov r1, r0
            call 3
            sub r6, 1
            jne r6, 0, loop
            exit
            """;
        using var compiled = Compile(
            ownLoop,
            Source,
            new Helper(1, "first", First),
            new Helper(2, "closure", (a, _, _, _, _) => a + captured),
            new Helper(3, "context", static (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) => a ^ 0x77));
        var input = new byte[8];
        ulong last = 0;
        for (int i = 0; i < 100; i++)
        {
            last = compiled.Run(input);
        }

        int differing = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            differing += compiled.Run(input) == last ? 0 : 1;
        }

        // Less than a byte per run (the runtime may allocate once on the thread while it tiers the path up).
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"{allocated} bytes for 10,000 runs");
        Assert.Equal(0, differing);
        Assert.Equal(ownLoop, compiled.HasOwnHelperLoop);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_long_loop_after_the_calls_runs_to_its_end(bool ownLoop)
    {
        // Three calls, then a loop long enough for x64 to yield in it (a yield is an exit the own loop hands over).
        const string Source = """
            mov r6, 3
            mov r7, 0
            calls:
            mov r1, r6
            mov r2, r7
            call 1
            mov r7, r0
            sub r6, 1
            jne r6, 0, calls
            mov r0, 0
            spin:
            add r7, 3
            add r0, 1
            jlt r0, 200000, spin
            mov r0, r7
            exit
            """;
        using var compiled = Compile(ownLoop, Source, new Helper(1, "first", First));
        ulong r7 = 0;
        for (ulong i = 3; i > 0; i--)
        {
            r7 = First(i, r7, 0, 0, 0);
        }

        Assert.Equal(r7 + 600_000, compiled.Run(new byte[8]));
    }
}
