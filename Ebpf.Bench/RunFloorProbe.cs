using System.Diagnostics;
using System.Globalization;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// <c>--floor</c>: the per-run time of the <see cref="RunFloorBenchmarks"/> programs and of a few workloads on every
/// engine with memory checks on (and on the unchecked configurations <c>--engines</c> names), as the fastest of many short batches after a warm-up, in a second pass over all cases. On a loaded machine a batch that the scheduler
/// interrupted is slow and is never the fastest, so the minimum approaches the quiet-machine time where
/// BenchmarkDotNet's mean does not; it is a floor, not a typical time.
/// </summary>
internal static class RunFloorProbe
{
    private const int Batches = 1000;
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan BatchTime = TimeSpan.FromMicroseconds(200);

    /// <summary>
    /// Measures every selected engine configuration: the short programs (unless <paramref name="shortPrograms"/> is
    /// false) and <paramref name="workloads"/>. Without the short programs, a workload's run path is tiered up by the
    /// workload's own runs, as in a BenchmarkDotNet process of one case.
    /// </summary>
    public static void Report(TextWriter output, IEnumerable<string> workloads, bool shortPrograms = true)
    {
        output.WriteLine($"per-run time in ns: fastest and median of {Batches} batches of ~{BatchTime.TotalMicroseconds} us each (memory checks on)");
        var input = RunFloorBenchmarks.CreateInput();
        var names = workloads.ToArray();

        // Two passes, the first discarded: the runtime may still be tiering the run path (or an engine's large
        // methods) up during the first cases of a process on a loaded machine.
        for (int pass = 0; pass < 2; pass++)
        {
            var sink = pass == 0 ? TextWriter.Null : output;
            foreach (var configuration in BenchEngines.Configurations.Where(c => (c.Options.MemoryChecks && BenchSelection.IncludesEngine(c.Label)) || BenchSelection.NamesEngine(c.Label)))
            {
                foreach (var shape in RunFloorBenchmarks.Programs.Keys.Where(_ => shortPrograms))
                {
                    using var compiled = RunFloorBenchmarks.Compile(configuration, shape);
                    Report(sink, configuration.Label, shape, compiled, input);
                }

                foreach (var name in names)
                {
                    var workload = WorkloadCatalog.Get(name);
                    using var compiled = workload.Compile(configuration.Engine, configuration.Options);
                    Report(sink, configuration.Label, name, compiled.Program, workload.CreateInput());
                }
            }
        }
    }

    private static void Report(TextWriter output, string engine, string shape, ICompiledProgram compiled, byte[] input)
    {
        var (fastest, median) = MeasureSpread(new PlainRun(compiled, input));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{engine,-12} {shape,-16} {fastest,10:0.0} {median,10:0.0}"));
    }

    /// <summary>
    /// The fastest time of one <see cref="IFloorRun.Run"/> of <paramref name="run"/> in ns, over <see cref="Batches"/>
    /// batches after the warm-up. Generic over the struct, so that the JIT compiles a loop per kind of run with the
    /// run's body inlined: the loop adds nothing but its own increment and branch.
    /// </summary>
    public static double Measure<TRun>(TRun run)
        where TRun : struct, IFloorRun =>
        MeasureSpread(run).Fastest;

    /// <summary>
    /// <see cref="Measure{TRun}"/>'s fastest batch and the median batch, in ns per run. The median includes what a
    /// loaded host adds to most batches (as BenchmarkDotNet's mean of long iterations does); the fastest does not.
    /// </summary>
    public static (double Fastest, double Median) MeasureSpread<TRun>(TRun run)
        where TRun : struct, IFloorRun
    {
        int runs = Calibrate(run, WarmUp, BatchTime, firstRuns: 16);
        var times = new double[Batches];
        for (int batch = 0; batch < Batches; batch++)
        {
            times[batch] = Batch(run, runs);
        }

        Array.Sort(times);
        return (times[0], times[Batches / 2]);
    }

    /// <summary>
    /// Warms <paramref name="run"/> up for <paramref name="warmUp"/> (long enough for the runtime to finish tiering the
    /// run path), then returns how many runs fill a batch of <paramref name="batchTime"/>: <paramref name="firstRuns"/>
    /// doubled until they do (at most 2^24).
    /// </summary>
    public static int Calibrate<TRun>(TRun run, TimeSpan warmUp, TimeSpan batchTime, int firstRuns)
        where TRun : struct, IFloorRun
    {
        long warm = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warm) < warmUp)
        {
            run.Run();
        }

        int runs = firstRuns;
        while (Batch(run, runs) * runs < batchTime.TotalNanoseconds && runs < 1 << 24)
        {
            runs *= 2;
        }

        return runs;
    }

    /// <summary>
    /// Warms <paramref name="run"/> up through <see cref="Batch{TRun}"/> itself (so that the timing loop is tiered up
    /// too) until the runtime has finished tiering and the per-run time stops improving: batches of about a millisecond
    /// in 100 ms windows, for at least <paramref name="minimum"/>, then until a window in which the runtime compiled no
    /// method is no faster than 0.98x the best window before it, for at most <paramref name="maximum"/>. A fixed
    /// warm-up is not enough on a loaded machine: the runtime's background tier-1 compiler works through its queue in
    /// order, and after a burst of start-up compilation the run path can wait seconds for its turn at tier 0.
    /// </summary>
    public static void WarmUntilSteady<TRun>(TRun run, TimeSpan minimum, TimeSpan maximum)
        where TRun : struct, IFloorRun
    {
        int runs = 1;
        while (Batch(run, runs) * runs < 1_000_000 && runs < 1 << 24)
        {
            runs *= 2;
        }

        long start = Stopwatch.GetTimestamp();
        double best = double.MaxValue;
        while (true)
        {
            long window = Stopwatch.GetTimestamp();
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            double fastest = double.MaxValue;
            while (Stopwatch.GetElapsedTime(window).TotalMilliseconds < 100)
            {
                fastest = Math.Min(fastest, Batch(run, runs));
            }

            bool jitQuiet = System.Runtime.JitInfo.GetCompiledMethodCount() == compiled;
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed >= maximum || (elapsed >= minimum && jitQuiet && fastest >= best * 0.98))
            {
                return;
            }

            best = Math.Min(best, fastest);
        }
    }

    /// <summary>The mean time of one of <paramref name="runs"/> runs of <paramref name="run"/> in a row, in ns.</summary>
    public static double Batch<TRun>(TRun run, int runs)
        where TRun : struct, IFloorRun
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < runs; i++)
        {
            run.Run();
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / runs;
    }

    /// <summary>A plain run through <see cref="ICompiledProgram.Run(Span{byte})"/>, as a user makes it.</summary>
    internal readonly struct PlainRun(ICompiledProgram compiled, byte[] input) : IFloorRun
    {
        public ulong Run() => compiled.Run(input);
    }
}
