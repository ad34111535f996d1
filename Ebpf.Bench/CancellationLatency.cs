using System.Diagnostics;
using System.Globalization;
using Ebpf.Isa;

namespace Ebpf.Bench;

/// <summary>
/// <c>--cancel-latency</c>: how long each engine takes to stop an endless loop once its token is cancelled, from the
/// call to <see cref="CancellationTokenSource.Cancel()"/> to the exception on the running thread (median and maximum of
/// <see cref="Rounds"/> rounds, for a one-instruction-per-iteration loop and for a loop of 64 ALU instructions); then
/// how long after <see cref="ExecutionOptions.RunTimeLimit"/> the watchdog stops the tight loop.
/// </summary>
internal static class CancellationLatency
{
    private const int Rounds = 30;

    public static void Report(TextWriter output)
    {
        output.WriteLine("cancellation latency in us, min / median / max of 30 rounds");
        output.WriteLine("  from another thread: Cancel() to the exception on the running thread (includes scheduling)");
        output.WriteLine("  pre-cancelled: Run() with a cancelled token to the exception, same thread (one poll period plus the throw)");
        foreach (var engine in BenchEngines.Available)
        {
            foreach (var (name, code) in new[] { ("tight loop", TightLoop()), ("64-instruction loop", WideLoop()) })
            {
                var other = Measure(engine, code);
                var same = MeasurePreCancelled(engine, code);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{engine.Name,-12} {name,-20} other thread {other.Min,8:0.0} / {other.Median,8:0.0} / {other.Max,9:0.0}   pre-cancelled {same.Min,7:0.0} / {same.Median,7:0.0} / {same.Max,8:0.0}"));
            }
        }

        output.WriteLine($"run time limit: ms from the limit ({WatchdogLimit.TotalMilliseconds} ms) to the exception, min / median / max of {WatchdogRounds} rounds");
        foreach (var engine in BenchEngines.Available)
        {
            var late = MeasureWatchdog(engine);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{engine.Name,-12} tight loop           {late.Min,8:0.0} / {late.Median,8:0.0} / {late.Max,9:0.0}"));
        }
    }

    private const int WatchdogRounds = 10;

    private static readonly TimeSpan WatchdogLimit = TimeSpan.FromMilliseconds(200);

    /// <summary>Milliseconds past <see cref="WatchdogLimit"/> at which the watchdog's stop reaches the running thread.</summary>
    private static (double Min, double Median, double Max) MeasureWatchdog(IExecutionEngine engine)
    {
        using var compiled = engine.Compile(Ebpf.Verification.ProgramLoader.Load(TightLoop()), options: new ExecutionOptions { RunTimeLimit = WatchdogLimit });
        var samples = new double[WatchdogRounds];
        for (int round = 0; round < WatchdogRounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                compiled.Run();
            }
            catch (EbpfRunCancelledException e) when (e.RunTimeLimitExceeded)
            {
                samples[round] = (Stopwatch.GetElapsedTime(start) - WatchdogLimit).TotalMilliseconds;
            }
        }

        Array.Sort(samples);
        return (samples[0], samples[WatchdogRounds / 2], samples[^1]);
    }

    // mov r0, 0; loop: add r0, 1; ja loop
    private static Instruction[] TightLoop() =>
        [new(OpCodes.Mov64Imm, 0, 0, 0, 0), new(OpCodes.Add64Imm, 0, 0, 0, 1), new(OpCodes.Ja, 0, 0, -2, 0), new(OpCodes.Exit, 0, 0, 0, 0)];

    // mov r0, 0; loop: 64 x (xor r0, 0x5bd1e995 / mul r0, 31 alternating); ja loop
    private static Instruction[] WideLoop()
    {
        var code = new List<Instruction> { new(OpCodes.Mov64Imm, 0, 0, 0, 0) };
        for (int i = 0; i < 64; i++)
        {
            code.Add(i % 2 == 0 ? new(OpCodes.Xor64Imm, 0, 0, 0, 0x5bd1e995) : new(OpCodes.Mul64Imm, 0, 0, 0, 31));
        }

        code.Add(new(OpCodes.Ja, 0, 0, -65, 0));
        code.Add(new(OpCodes.Exit, 0, 0, 0, 0));
        return [.. code];
    }

    private static (double Min, double Median, double Max) MeasurePreCancelled(IExecutionEngine engine, Instruction[] code)
    {
        using var compiled = engine.Compile(Ebpf.Verification.ProgramLoader.Load(code));
        var cancelled = new CancellationToken(canceled: true);
        var samples = new double[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                compiled.Run(Span<byte>.Empty, cancelled);
            }
            catch (EbpfRunCancelledException)
            {
                samples[round] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        return (samples[0], samples[Rounds / 2], samples[^1]);
    }

    private static (double Min, double Median, double Max) Measure(IExecutionEngine engine, Instruction[] code)
    {
        using var compiled = engine.Compile(Ebpf.Verification.ProgramLoader.Load(code));
        var samples = new double[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            using var source = new CancellationTokenSource();
            long stopped = 0;
            var thread = new Thread(() =>
            {
                try
                {
                    compiled.Run(Span<byte>.Empty, source.Token);
                }
                catch (EbpfRunCancelledException)
                {
                    stopped = Stopwatch.GetTimestamp();
                }
            });
            thread.Start();
            Thread.Sleep(20);
            long cancelled = Stopwatch.GetTimestamp();
            source.Cancel();
            thread.Join();
            samples[round] = Stopwatch.GetElapsedTime(cancelled, stopped).TotalMicroseconds;
        }

        Array.Sort(samples);
        return (samples[0], samples[Rounds / 2], samples[^1]);
    }
}
