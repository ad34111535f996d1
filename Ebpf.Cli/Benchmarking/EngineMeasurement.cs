namespace Ebpf.Cli.Benchmarking;

/// <summary>What <c>ebpf bench</c> measured on one engine.</summary>
/// <param name="Engine">The engine's name.</param>
/// <param name="CompileMilliseconds">The fastest of several compilations, in milliseconds.</param>
/// <param name="FirstRunMilliseconds">The fastest compilation followed by one run (load to first result), in milliseconds.</param>
/// <param name="MinNanosecondsPerRun">The fastest batch's time per run.</param>
/// <param name="MedianNanosecondsPerRun">The median batch's time per run.</param>
/// <param name="LoopNanosecondsPerRun">
/// The median time per run of the same batches over a program that does nothing (<see cref="LoopProbe"/>): the
/// measuring loop's share of the two figures above, which include it.
/// </param>
/// <param name="RunsPerBatch">Runs in each batch.</param>
/// <param name="Batches">Measured batches (after the warm-up).</param>
internal sealed record EngineMeasurement(
    string Engine,
    double CompileMilliseconds,
    double FirstRunMilliseconds,
    double MinNanosecondsPerRun,
    double MedianNanosecondsPerRun,
    double LoopNanosecondsPerRun,
    long RunsPerBatch,
    int Batches);
