using System.Diagnostics;
using System.Runtime.CompilerServices;
using Ebpf.Cli.Loading;
using Ebpf.Execution;

namespace Ebpf.Cli.Benchmarking;

/// <summary>Times compilation and runs of one program on one engine.</summary>
internal static class BenchRunner
{
    /// <summary>
    /// Compilations timed per engine, each followed by a first run (the fastest of each is reported: the first sample
    /// includes the engine's own warm-up). The IL engine's code is compiled by RyuJIT during the first run, so
    /// "compile + first run" is its load-to-result time.
    /// </summary>
    public const int CompileSamples = 5;

    /// <summary>When the runs per batch are not given, batches grow until one lasts at least this long.</summary>
    public static readonly TimeSpan TargetBatchTime = TimeSpan.FromMilliseconds(20);

    /// <summary>How long batches run at least, untimed, before the timed ones (then on until .NET stops recompiling, 3 s at most).</summary>
    public static readonly TimeSpan WarmUpTime = TimeSpan.FromMilliseconds(200);

    /// <summary>The most runs per batch calibration chooses.</summary>
    public const long MaxCalibratedRuns = 1 << 24;

    /// <summary>Measures <paramref name="program"/> on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="program">The program and its environment.</param>
    /// <param name="options">Execution options.</param>
    /// <param name="memory">The memory each batch starts from (copied, so the original is never changed).</param>
    /// <param name="runsPerBatch">Runs per batch, or null to calibrate.</param>
    /// <param name="batches">Batches to measure (after the warm-up); each is followed by a batch of the loop probe.</param>
    public static EngineMeasurement Measure(
        IExecutionEngine engine,
        LoadedProgram program,
        ExecutionOptions options,
        byte[] memory,
        long? runsPerBatch,
        int batches)
    {
        double compileMs = double.MaxValue, firstRunMs = double.MaxValue;
        ICompiledProgram? compiled = null;
        var buffer = new byte[memory.Length];
        try
        {
            for (int i = 0; i < CompileSamples; i++)
            {
                memory.CopyTo(buffer, 0);
                long start = Stopwatch.GetTimestamp();
                var next = program.Compile(engine, options);
                compileMs = Math.Min(compileMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                compiled?.Dispose();
                compiled = next;
                compiled.Run(buffer);
                firstRunMs = Math.Min(firstRunMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            var (runs, perRun, loop) = compiled is CompiledProgram ours
                ? TimeRuns(new CompiledRun(ours), memory, buffer, runsPerBatch, batches)
                : TimeRuns(new InterfaceRun(compiled!), memory, buffer, runsPerBatch, batches);
            return new EngineMeasurement(engine.Name, compileMs, firstRunMs, perRun.Min(), Median(perRun), Median(loop), runs, batches);
        }
        finally
        {
            compiled?.Dispose();
        }
    }

    /// <summary>
    /// Calibrates (unless <paramref name="runsPerBatch"/> is given), warms up and times <paramref name="batches"/> batches
    /// of <paramref name="run"/>, each followed by a batch of the loop probe; returns the runs per batch and the ns per run
    /// of each batch of both.
    /// </summary>
    private static (long Runs, double[] PerRun, double[] Loop) TimeRuns<TRun>(TRun run, byte[] memory, byte[] buffer, long? runsPerBatch, int batches)
        where TRun : struct, ISpanRun
    {
        var probe = default(LoopProbe);
        long runs = runsPerBatch ?? Calibrate(run, memory, buffer);
        WarmUp(run, probe, memory, buffer, runs);
        var perRun = new double[batches];
        var loop = new double[batches];
        for (int b = 0; b < batches; b++)
        {
            perRun[b] = TimeBatch(run, memory, buffer, runs) / runs;
            loop[b] = TimeBatch(probe, memory, buffer, runs) / runs;
        }

        return (runs, perRun, loop);
    }

    /// <summary>The median of <paramref name="values"/> (sorted in place).</summary>
    public static double Median(double[] values)
    {
        Array.Sort(values);
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }

    /// <summary>
    /// Runs batches of the program and of the loop probe for at least <see cref="WarmUpTime"/> and until .NET has stopped
    /// recompiling (see <see cref="Ebpf.Diagnostics.TieringSettler"/>), so the runtime's tiered compilation of the
    /// engine's code is done before anything is timed.
    /// </summary>
    private static void WarmUp<TRun>(TRun run, LoopProbe probe, byte[] memory, byte[] buffer, long runs)
        where TRun : struct, ISpanRun
    {
        Ebpf.Diagnostics.TieringSettler.Run(
            static state =>
            {
                TimeBatch(state.Run, state.Memory, state.Buffer, state.Runs);
                TimeBatch(state.Probe, state.Memory, state.Buffer, state.Runs);
            },
            (Run: run, Probe: probe, Memory: memory, Buffer: buffer, Runs: runs),
            WarmUpTime);
    }

    /// <summary>
    /// Doubles the runs per batch until a batch lasts <see cref="TargetBatchTime"/>. Each size is judged by the faster of
    /// two batches, so one batch stretched by the machine (preemption on a shared host) does not stop the doubling early
    /// and leave batches too short to time a tiny program well.
    /// </summary>
    private static long Calibrate<TRun>(TRun run, byte[] memory, byte[] buffer)
        where TRun : struct, ISpanRun
    {
        long runs = 1;
        while (runs < MaxCalibratedRuns
            && Math.Min(TimeBatch(run, memory, buffer, runs), TimeBatch(run, memory, buffer, runs)) < TargetBatchTime.TotalNanoseconds)
        {
            runs *= 2;
        }

        return runs;
    }

    /// <summary>
    /// Times <paramref name="runs"/> runs, in nanoseconds at the stopwatch's own resolution (a <see cref="TimeSpan"/>
    /// would round to 100 ns). Compiled with full optimisation from the start, so the loop is the same in every batch;
    /// generic over the kind of run, so each kind gets a loop of its own that calls the run without a dispatch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double TimeBatch<TRun>(TRun run, byte[] memory, byte[] buffer, long runs)
        where TRun : struct, ISpanRun
    {
        memory.CopyTo(buffer, 0);
        var span = buffer.AsSpan();
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < runs; i++)
        {
            run.Run(span);
        }

        long end = Stopwatch.GetTimestamp();
        return (end - start) * 1e9 / Stopwatch.Frequency;
    }
}
