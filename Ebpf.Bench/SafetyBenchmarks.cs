using BenchmarkDotNet.Attributes;
using Ebpf.Analysis;

namespace Ebpf.Bench;

/// <summary>
/// The proving verifier's analysis (<see cref="SafetyAnalysis"/>) on the generated programs of the compile benchmark,
/// so its time can be set against the x64 compile time per program size.
/// </summary>
[MemoryDiagnoser]
public class SafetyBenchmarks
{
    private EbpfProgram program = null!;

    /// <summary>The program's length in instruction slots.</summary>
    [Params(100, 1_000, 10_000, 100_000)]
    public int Instructions { get; set; } = 100;

    /// <summary>Generates the program.</summary>
    [GlobalSetup]
    public void Setup() => program = ProgramGenerator.Create(Instructions);

    /// <summary>Analyse (uncached: a fresh context each time).</summary>
    [Benchmark]
    public int Analyze() => program.Analysis.Safety(new SafetyContext()).ProvenCount;
}
