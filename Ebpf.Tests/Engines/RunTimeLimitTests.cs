using System.Diagnostics;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

/// <summary>
/// <see cref="ExecutionOptions.RunTimeLimit"/>: the process-wide watchdog that stops runaway runs. The endless-loop
/// tests let the real watchdog fire (a short limit; a run that ignored it fails the test after <see cref="Patience"/>
/// instead of hanging the suite); the others drive <see cref="RunWatchdog.Scan"/> by hand from a helper, with a limit
/// the real watchdog never reaches, so they do not depend on timing.
/// </summary>
public class RunTimeLimitTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan ShortLimit = TimeSpan.FromMilliseconds(200);

    /// <summary>A limit the real watchdog never reaches during a test.</summary>
    private static readonly TimeSpan LongLimit = TimeSpan.FromHours(1);

    private static readonly long LongLimitTicks = LongLimit.Ticks;

    public static TheoryData<string, string> EnginesAndLoops()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var loop in (string[])["jump to itself", "count forever", "loop in a callee"])
            {
                data.Add(engine.Name, loop);
            }
        }

        return data;
    }

    private static EbpfProgram Loop(string name) => name switch
    {
        "jump to itself" => Program(I(OpCodes.Ja, offset: -1), I(OpCodes.Exit)),
        // mov r0, 0; mov r1, 1; loop: add r0, 1; jne r1, 0, loop
        "count forever" => Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 1), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.JneImm, 1, 0, -2, 0), I(OpCodes.Exit)),
        // main: call f; exit.  f: ja -1
        _ => Program(I(OpCodes.Call, 0, 1, 0, 1), I(OpCodes.Exit), I(OpCodes.Ja, offset: -1), I(OpCodes.Exit)),
    };

    /// <summary>Runs <paramref name="run"/> on a thread of its own and returns how it stopped.</summary>
    private static async Task<EbpfRunCancelledException> StopsWith(Func<ulong> run)
    {
        var task = Task.Factory.StartNew(run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var ended = await Task.WhenAny(task, Task.Delay(Patience));
        Assert.True(ended == task, "the run did not stop");
        return await Assert.ThrowsAsync<EbpfRunCancelledException>(() => task);
    }

    private static void AssertStoppedByTheLimit(EbpfRunCancelledException e, TimeSpan limit)
    {
        Assert.Equal(RuntimeErrorKind.TimedOut, e.Kind);
        Assert.True(e.RunTimeLimitExceeded);
        Assert.Equal(limit, e.Timeout);
        Assert.Contains("ExecutionOptions.RunTimeLimit (" + limit.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s)", e.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(EnginesAndLoops))]
    public async Task The_run_time_limit_stops_an_endless_loop(string engine, string loop)
    {
        using var compiled = TestEngines.Get(engine).Compile(Loop(loop), options: new ExecutionOptions { RunTimeLimit = ShortLimit });
        var watch = Stopwatch.StartNew();
        var e = await StopsWith(() => compiled.Run());
        Assert.True(watch.Elapsed >= ShortLimit, $"stopped after {watch.Elapsed}, before the limit");
        AssertStoppedByTheLimit(e, ShortLimit);
    }

    /// <summary>Tail-calls slot <paramref name="index"/> of map 0 (a program array); returns 0 when that fails.</summary>
    private static EbpfProgram TailCallTo(int index) => Program(
        new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Imm, 3, 0, 0, index),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.TailCall),
        I(OpCodes.Mov64Imm, 0, 0, 0, 0),
        I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task The_limit_of_the_first_program_covers_a_loop_after_tail_calls(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var programs = new ProgramArrayMap("programs", 2);
        Assert.Equal(0, environment.AddMap(programs));
        var options = new ExecutionOptions { RunTimeLimit = ShortLimit };
        // The caller tail-calls slot 0, which tail-calls slot 1, which loops forever; only the caller has a limit.
        using var spinner = TestEngines.Get(engine).Compile(Program(I(OpCodes.Ja, offset: -1), I(OpCodes.Exit)), environment, options with { RunTimeLimit = null });
        using var middle = TestEngines.Get(engine).Compile(TailCallTo(1), environment, options with { RunTimeLimit = null });
        using var caller = TestEngines.Get(engine).Compile(TailCallTo(0), environment, options);
        programs.Set(0, middle);
        programs.Set(1, spinner);
        var e = await StopsWith(() => caller.Run(new byte[4]));
        AssertStoppedByTheLimit(e, ShortLimit);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_nested_run_and_a_run_on_a_large_stack_are_stopped_by_the_timer_that_stands_in(string engine)
    {
        var options = new ExecutionOptions { RunTimeLimit = ShortLimit };
        using var inner = TestEngines.Get(engine).Compile(Loop("jump to itself"), options: options);
        var helpers = new HelperTable();
        helpers.Set(1, "run_inner", (_, _, _, _, _) => inner.Run());
        using var outer = TestEngines.Get(engine).Compile(Program(I(OpCodes.Call, imm: 1), I(OpCodes.Exit)), new ProgramEnvironment(helpers), options with { RunTimeLimit = null });
        var nested = await StopsWith(() => outer.Run());
        AssertStoppedByTheLimit(nested, ShortLimit);

        using var large = TestEngines.Get(engine).Compile(Loop("count forever"), options: options with { StackSize = 65536, MaxCallDepth = 2 });
        var onHeapStack = await StopsWith(() => large.Run());
        AssertStoppedByTheLimit(onHeapStack, ShortLimit);
    }

    /// <summary>
    /// Calls helper 1, which runs <paramref name="scans"/> by hand, then counts r6 down from 300,000 (a loop with a
    /// backward jump and more than one interpreter slice) and returns 7.
    /// </summary>
    private static ICompiledProgram ScanningProgram(string engine, Action scans, TimeSpan? limit)
    {
        var helpers = new HelperTable();
        helpers.Set(1, "scan", (_, _, _, _, _) =>
        {
            scans();
            return 0;
        });
        return TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Call, imm: 1),
                I(OpCodes.Mov64Imm, 6, imm: 300_000),
                I(OpCodes.Sub64Imm, 6, imm: 1),
                I(OpCodes.JneImm, 6, 0, -2, 0),
                I(OpCodes.Mov64Imm, 0, imm: 7),
                I(OpCodes.Exit)),
            new ProgramEnvironment(helpers),
            new ExecutionOptions { RunTimeLimit = limit });
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_seen_running_for_longer_than_its_limit_is_stopped(string engine)
    {
        long start = RunWatchdog.Now();
        bool scan = true;
        int stopped = -1;
        using var compiled = ScanningProgram(
            engine,
            () =>
            {
                if (scan)
                {
                    _ = RunWatchdog.Scan(start, RunSlots.Current);
                    stopped = RunWatchdog.Scan(start + (2 * LongLimitTicks), RunSlots.Current);
                }
            },
            LongLimit);
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run());
        Assert.Equal(1, stopped);
        AssertStoppedByTheLimit(e, LongLimit);

        // The stop request went with that run: the next one on the thread runs to its end.
        scan = false;
        Assert.Equal(7UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_first_seen_by_a_late_scan_is_timed_from_that_sight_not_from_the_scans_clock(string engine)
    {
        // The watchdog read its clock, was descheduled for three limits (a loaded machine), then saw this run for the
        // first time: the run is timed from that sight, so half a limit later it is left alone and a limit after the
        // sight it is stopped. Timed from the clock read before the scan, it was stopped at once (a false time-out).
        long start = RunWatchdog.Now();
        long seen = start + (3 * LongLimitTicks);
        bool scan = true;
        int early = -1, late = -1;
        using var compiled = ScanningProgram(
            engine,
            () =>
            {
                if (scan)
                {
                    _ = RunWatchdog.Scan(start, RunSlots.Current, () => seen);
                    early = RunWatchdog.Scan(seen + (LongLimitTicks / 2), RunSlots.Current);
                    late = RunWatchdog.Scan(seen + LongLimitTicks, RunSlots.Current);
                }
            },
            LongLimit);

        // The watchdog's own thread must not see the run first (it would date it from its real clock).
        EbpfRunCancelledException e;
        lock (RunWatchdog.ScanGate)
        {
            e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run());
        }

        Assert.Equal(0, early);
        Assert.Equal(1, late);
        AssertStoppedByTheLimit(e, LongLimit);
        scan = false;
        Assert.Equal(7UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public unsafe void A_run_that_ended_before_the_watchdog_fires_is_not_stopped_nor_is_the_next_run(string engine)
    {
        long clock = RunWatchdog.Now();
        var stops = new List<int>();
        using var compiled = ScanningProgram(engine, () => stops.Add(RunWatchdog.Scan(clock, RunSlots.Current)), LongLimit);

        // The first run is seen at `clock`, and ends.
        Assert.Equal(7UL, compiled.Run());

        // The watchdog wakes after the limit: that run is over, nothing to stop.
        Assert.Equal(0, RunWatchdog.Scan(clock + (2 * LongLimitTicks), RunSlots.Current));

        // The next run on the thread is new to the watchdog, even at a later clock: not stopped.
        clock += 3 * LongLimitTicks;
        Assert.Equal(7UL, compiled.Run());
        Assert.Equal([0, 0], stops);
        Assert.Equal(0, Volatile.Read(ref RunSlots.Current.State->CancelRequested));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_without_a_limit_is_left_alone(string engine)
    {
        foreach (TimeSpan? off in (TimeSpan?[])[null, Timeout.InfiniteTimeSpan])
        {
            long start = RunWatchdog.Now();
            int stopped = -1;
            using var compiled = ScanningProgram(
                engine,
                () =>
                {
                    _ = RunWatchdog.Scan(start, RunSlots.Current);
                    stopped = RunWatchdog.Scan(start + (100_000 * LongLimitTicks), RunSlots.Current);
                },
                off);
            Assert.Equal(7UL, compiled.Run());
            Assert.Equal(0, stopped);
        }
    }

    [Fact]
    public void The_default_is_10_seconds_and_bad_limits_are_refused()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), ExecutionOptions.Default.RunTimeLimit);
        Assert.Equal(TimeSpan.FromSeconds(10), new ExecutionOptions().RunTimeLimit);
        foreach (var bad in (TimeSpan[])[TimeSpan.Zero, TimeSpan.FromSeconds(-2), TimeSpan.FromDays(60)])
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionOptions { RunTimeLimit = bad }.Validate());
            Assert.Equal(nameof(ExecutionOptions.RunTimeLimit), e.ParamName);
        }

        Assert.Null(new ExecutionOptions { RunTimeLimit = null }.Validate().RunTimeLimit);
        Assert.Equal(Timeout.InfiniteTimeSpan, new ExecutionOptions { RunTimeLimit = Timeout.InfiniteTimeSpan }.Validate().RunTimeLimit);
    }

    [Fact]
    public void The_run_states_of_threads_that_ended_leave_the_watchdogs_list()
    {
        RunSlots? slots = null;
        var thread = new Thread(() =>
        {
            using var compiled = TestEngines.Get("interpreter").Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.Exit)));
            Assert.Equal(1UL, compiled.Run());
            slots = RunSlots.Current;
        });
        thread.Start();
        thread.Join();
        Assert.NotNull(slots);
        RunSlots.DropEnded();
        Assert.DoesNotContain(slots, RunSlots.All);
        Assert.Contains(RunSlots.Current, RunSlots.All);
    }
}
