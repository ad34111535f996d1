using System.Diagnostics;
using Ebpf.Cli.Loading;

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

    /// <summary>The most runs per batch calibration chooses.</summary>
    public const long MaxCalibratedRuns = 1 << 24;

    /// <summary>Measures <paramref name="program"/> on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="program">The program and its environment.</param>
    /// <param name="options">Execution options.</param>
    /// <param name="memory">The memory each batch starts from (copied, so the original is never changed).</param>
    /// <param name="runsPerBatch">Runs per batch, or null to calibrate.</param>
    /// <param name="batches">Batches to measure.</param>
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

            long runs = runsPerBatch ?? Calibrate(compiled!, memory, buffer);
            TimeBatch(compiled!, memory, buffer, runs);
            var perRun = new double[batches];
            for (int b = 0; b < batches; b++)
            {
                perRun[b] = TimeBatch(compiled!, memory, buffer, runs).TotalNanoseconds / runs;
            }

            Array.Sort(perRun);
            double median = batches % 2 == 1 ? perRun[batches / 2] : (perRun[(batches / 2) - 1] + perRun[batches / 2]) / 2;
            return new EngineMeasurement(engine.Name, compileMs, firstRunMs, perRun[0], median, runs, batches);
        }
        finally
        {
            compiled?.Dispose();
        }
    }

    private static long Calibrate(ICompiledProgram compiled, byte[] memory, byte[] buffer)
    {
        long runs = 1;
        while (runs < MaxCalibratedRuns && TimeBatch(compiled, memory, buffer, runs) < TargetBatchTime)
        {
            runs *= 2;
        }

        return runs;
    }

    private static TimeSpan TimeBatch(ICompiledProgram compiled, byte[] memory, byte[] buffer, long runs)
    {
        memory.CopyTo(buffer, 0);
        var span = buffer.AsSpan();
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < runs; i++)
        {
            compiled.Run(span);
        }

        return Stopwatch.GetElapsedTime(start);
    }
}
