using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// The restartable direct entry (<see cref="DirectEntry.QualifiesWithLoops"/>): which programs with loops get one (il
/// and x64),
/// that a run through it returns what the plain run returns on both sides of the point where it gives up
/// (<see cref="DirectEntry.LoopSteps"/> backward jumps) and starts again on the plain path, that a violation before or
/// after that point is the plain run's, that endless loops still stop by the run time limit and by a token, and that
/// none of it allocates. The restart is sound because a qualifying program writes no memory: the checks below that
/// refuse stores, atomics and calls are what that rests on.
/// </summary>
[Collection(Ebpf.Tests.Diagnostics.RunListenerCollection.Name)]
public class LoopDirectEntryTests
{
    /// <summary>r0 = the sum of the input's bytes, one backward jump per byte.</summary>
    private const string SumBytes = """
        mov r0, 0
        mov r3, 0
        loop:
        jge r3, r2, end
        mov r4, r1
        add r4, r3
        ldxb r5, [r4+0]
        add r0, r5
        add r3, 1
        ja loop
        end:
        exit
        """;

    /// <summary>As <see cref="SumBytes"/>, but one byte too far: the read at the input's length faults (pc 5).</summary>
    private static readonly string SumPastTheEnd = SumBytes.Replace("jge r3, r2, end", "jgt r3, r2, end", StringComparison.Ordinal);

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    private static CompiledProgram Compile(string engine, string source, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(
            Parse(source), new ProgramEnvironment(), (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    private static bool Qualifies(string source, ExecutionOptions? options = null) =>
        DirectEntry.QualifiesWithLoops(Parse(source), options ?? ExecutionOptions.Default);

    /// <summary>A pinned input of <paramref name="length"/> bytes holding 1, 2, 3, ... (mod 251).</summary>
    private static byte[] Input(int length)
    {
        var input = GC.AllocateArray<byte>(length, pinned: true);
        for (int i = 0; i < length; i++)
        {
            input[i] = (byte)((i % 251) + 1);
        }

        return input;
    }

    private static ulong Sum(byte[] input) => (ulong)input.Sum(b => (long)b);

    [Fact]
    public void Loops_that_write_no_memory_and_call_nothing_qualify()
    {
        Assert.True(Qualifies(SumBytes));
        Assert.True(Qualifies("mov r0, 0\nadd r0, 1\njne r0, 10, -2\nexit"));

        // A brief program takes the plain direct entry, not this one.
        Assert.False(Qualifies("mov r0, 42\nexit"));

        // Anything a restart would do twice or could not redo: a store, an atomic, a call of any kind.
        Assert.False(Qualifies("mov r0, 0\nstb [r1+0], 1\nadd r0, 1\njne r0, 10, -3\nexit"));
        Assert.False(Qualifies("mov r0, 0\nstxb [r1+0], r0\nadd r0, 1\njne r0, 10, -3\nexit"));
        Assert.False(Qualifies("mov r0, 0\nmov r3, 1\nlock add64 [r1+0], r3\nadd r0, 1\njne r0, 10, -3\nexit"));
        Assert.False(Qualifies("mov r0, 0\ncall 1\nadd r0, 1\njne r0, 10, -3\nexit"));
        Assert.False(Qualifies("mov r0, 0\ncall local f\nadd r0, 1\njne r0, 10, -3\nexit\nf:\nmov r0, 1\nexit"));

        // The stack (r10 named at all), and the options a direct run cannot honour.
        Assert.False(Qualifies("mov r0, 0\nldxdw r3, [r10-8]\nadd r0, 1\njne r0, 10, -3\nexit"));
        Assert.False(Qualifies(SumBytes, ExecutionOptions.Default with { InstructionBudget = 1_000_000 }));
        Assert.False(Qualifies(SumBytes, ExecutionOptions.Default with { Timeout = TimeSpan.FromSeconds(5) }));
    }

    /// <summary>The engines with a restartable direct entry (il, and x64 where it runs).</summary>
    public static TheoryData<string> RestartingEngines()
    {
        var data = new TheoryData<string>();
        foreach (var engine in TestEngines.All.Where(e => e.Name is "il" or "x64"))
        {
            data.Add(engine.Name);
        }

        return data;
    }

    [Fact]
    public void Il_and_x64_make_a_restartable_direct_entry_and_the_interpreter_keeps_the_plain_run()
    {
        foreach (var engine in TestEngines.All)
        {
            using var sum = Compile(engine.Name, SumBytes);
            Assert.Equal(engine.Name is "il" or "x64", sum.HasDirectEntry);
            using var store = Compile(engine.Name, "mov r0, 0\nstb [r1+0], 1\nadd r0, 1\njne r0, 10, -3\nexit");
            Assert.False(store.HasDirectEntry);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Runs_on_both_sides_of_the_restart_return_what_the_plain_run_returns(string engine)
    {
        using var program = Compile(engine, SumBytes);
        foreach (int length in (int[])[0, 1, 4, DirectEntry.LoopSteps - 1, DirectEntry.LoopSteps, DirectEntry.LoopSteps + 1, 5000])
        {
            var input = Input(length);
            using var live = new CancellationTokenSource();
            Assert.Equal(Sum(input), program.Run(input));
            Assert.Equal(Sum(input), program.Run(input, live.Token));
        }
    }

    [Theory]
    [MemberData(nameof(RestartingEngines))]
    public void The_entry_gives_up_at_the_step_limit_and_is_skipped_for_a_while(string engine)
    {
        using var program = Compile(engine, SumBytes);

        // One backward jump per byte: LoopSteps - 1 of them end inside the entry, LoopSteps of them do not.
        var fits = Input(DirectEntry.LoopSteps - 1);
        Assert.Equal(Sum(fits), program.Run(fits));
        Assert.Equal(0, program.DirectSkips);

        var restarts = Input(DirectEntry.LoopSteps);
        Assert.Equal(Sum(restarts), program.Run(restarts));
        Assert.Equal(CompiledProgram.DirectSkipRuns, program.DirectSkips);

        // The runs that follow take the plain path and count the skip down; then the entry is tried again.
        for (int i = CompiledProgram.DirectSkipRuns; i > 0; i--)
        {
            Assert.Equal(Sum(fits), program.Run(fits));
            Assert.Equal(i - 1, program.DirectSkips);
        }

        Assert.Equal(Sum(fits), program.Run(fits));
        Assert.Equal(0, program.DirectSkips);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_violation_before_or_after_the_restart_is_the_plain_runs(string engine)
    {
        using var program = Compile(engine, SumPastTheEnd);
        using var interpreted = Compile("interpreter", SumPastTheEnd);
        foreach (int length in (int[])[3, DirectEntry.LoopSteps + 10])
        {
            var input = Input(length);
            using var live = new CancellationTokenSource();
            var reference = Assert.Throws<EbpfMemoryAccessException>(() => interpreted.Run(input, live.Token));
            var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
            Assert.Equal(5, direct.Pc);
            Assert.Equal(reference.Pc, direct.Pc);
            Assert.Equal((ulong)Marshal.UnsafeAddrOfPinnedArrayElement(input, 0) + (ulong)length, direct.Address);
            Assert.Equal(reference.Message, direct.Message);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task An_endless_loop_without_stores_stops_by_the_run_time_limit_and_by_a_token(string engine)
    {
        const string Endless = "mov r0, 0\nmov r3, 1\nadd r0, 1\njne r3, 0, -2\nexit";
        var limit = TimeSpan.FromMilliseconds(200);
        using var limited = Compile(engine, Endless, ExecutionOptions.Default with { RunTimeLimit = limit });
        Assert.Equal(engine is "il" or "x64", limited.HasDirectEntry);
        var run = Task.Factory.StartNew(() => limited.Run(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))));
        var stop = await Assert.ThrowsAsync<EbpfRunCancelledException>(() => run);
        Assert.True(stop.RunTimeLimitExceeded);

        using var unlimited = Compile(engine, Endless, ExecutionOptions.Default with { RunTimeLimit = null });
        using var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var input = Input(16);
        var byToken = Task.Factory.StartNew(() => unlimited.Run(input, source.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.Same(byToken, await Task.WhenAny(byToken, Task.Delay(TimeSpan.FromSeconds(60))));
        var cancelled = await Assert.ThrowsAsync<EbpfRunCancelledException>(() => byToken);
        Assert.Equal(source.Token, cancelled.CancellationToken);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Short_and_restarted_runs_allocate_nothing(string engine)
    {
        using var program = Compile(engine, SumBytes);
        var small = Input(8);
        var large = Input(DirectEntry.LoopSteps + 100);
        ulong expected = (Sum(small) * 200) + (Sum(large) * 3);
        ulong total = 0;
        for (int warm = 0; warm < 2; warm++)
        {
            total = 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                total += program.Run(small);
            }

            for (int i = 0; i < 3; i++)
            {
                total += program.Run(large);
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (warm == 1)
            {
                Assert.Equal(0, allocated);
            }
        }

        Assert.Equal(expected, total);
    }
}
