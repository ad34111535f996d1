using BenchmarkDotNet.Attributes;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// Engines x workloads: the time of one run of a compiled workload on its input (r1 = the input, r2 = its length).
/// The setup checks the run returns the native reference's r0. No allocation per run is expected.
/// </summary>
[MemoryDiagnoser]
public class RunBenchmarks
{
    private CompiledWorkload? compiled;
    private byte[] input = [];

    /// <summary>The engine configurations available here.</summary>
    public static IEnumerable<string> Engines => BenchEngines.Configurations.Select(c => c.Label);

    /// <summary>The workloads.</summary>
    public static IEnumerable<string> Workloads => WorkloadCatalog.All.Select(w => w.Name);

    /// <summary>The engine configuration (e.g. <c>x64</c> or <c>x64-unchecked</c>).</summary>
    [ParamsSource(nameof(Engines))]
    public string Engine { get; set; } = "interpreter";

    /// <summary>The workload.</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "prime";

    /// <summary>Compiles the workload and checks its result once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var configuration = BenchEngines.Get(Engine);
        var workload = WorkloadCatalog.Get(Workload);
        compiled = workload.Compile(configuration.Engine, configuration.Options);
        input = workload.CreateInput();
        var r0 = compiled.Program.Run(input);
        if (r0 != workload.Expected)
        {
            throw new InvalidOperationException($"{Engine} returned {r0} on {Workload}; the native reference returns {workload.Expected}");
        }
    }

    /// <summary>One run.</summary>
    [Benchmark]
    public ulong Run() => compiled!.Program.Run(input);

    /// <summary>Releases the compiled program.</summary>
    [GlobalCleanup]
    public void Cleanup() => compiled?.Dispose();
}
