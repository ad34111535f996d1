using BenchmarkDotNet.Attributes;
using Ebpf.Verification;

namespace Ebpf.Bench;

/// <summary>
/// Compile time: from a loaded program to the end of its first run (the IL engine's code is JIT-compiled by the
/// runtime at the first call, so the first run is part of its compile time), then dispose. Generated programs of
/// 100 to 100,000 instructions show whether compile time grows linearly.
/// </summary>
[MemoryDiagnoser]
public class CompileBenchmarks
{
    private readonly ProgramEnvironment environment = new();
    private readonly byte[] input = new byte[ProgramGenerator.InputLength];
    private EbpfProgram? program;
    private IExecutionEngine? engine;
    private ExecutionOptions options = ExecutionOptions.Default;

    /// <summary>The engines available here.</summary>
    public static IEnumerable<string> Engines => BenchEngines.CheckedLabels.Where(BenchSelection.IncludesEngine);

    /// <summary>The engine (memory checks on).</summary>
    [ParamsSource(nameof(Engines))]
    public string Engine { get; set; } = "interpreter";

    /// <summary>The program's length in instruction slots.</summary>
    [Params(100, 1_000, 10_000, 100_000)]
    public int Instructions { get; set; } = 100;

    /// <summary>
    /// The verification the compilation applies: <see cref="VerificationMode.Hybrid"/> (the default) analyses every
    /// program; <see cref="VerificationMode.Structural"/> analyses only those the engines use the proof for (memory
    /// checks on, at most <c>CheckPlan.MaxAnalyzedSlots</c> slots), as every compilation did before the hybrid default.
    /// </summary>
    [Params(VerificationMode.Hybrid, VerificationMode.Structural)]
    public VerificationMode Verification { get; set; } = VerificationMode.Hybrid;

    /// <summary>Generates the program.</summary>
    [GlobalSetup]
    public void Setup()
    {
        engine = BenchEngines.Get(Engine).Engine;
        program = ProgramGenerator.Create(Instructions);
        options = ExecutionOptions.Default with { Verification = Verification };
    }

    /// <summary>Compile, run once, dispose.</summary>
    [Benchmark]
    public ulong CompileAndFirstRun()
    {
        using var compiled = engine!.Compile(program!, environment, options);
        return compiled.Run(input);
    }
}
