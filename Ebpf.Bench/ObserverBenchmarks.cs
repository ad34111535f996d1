using BenchmarkDotNet.Attributes;
using Ebpf.Bench.Workloads;
using Ebpf.Diagnostics;
using Ebpf.Interpreter;

namespace Ebpf.Bench;

/// <summary>
/// The interpreter with and without an observer on the loop-heavy workloads: <c>Unobserved</c> is the plain run (the
/// hook compiled out), <c>NoOpObserver</c> the price of the hook itself, <c>Profiler</c> that of counting per pc.
/// </summary>
[MemoryDiagnoser]
public class ObserverBenchmarks
{
    private CompiledWorkload? compiled;
    private IObservableProgram? observable;
    private byte[] input = [];
    private readonly IInstructionObserver noOp = new NoOp();
    private readonly ExecutionProfiler profiler = new();

    /// <summary>The workloads.</summary>
    public static IEnumerable<string> Workloads => new[] { "prime", "memcpy" }.Where(BenchSelection.IncludesWorkload);

    /// <summary>The workload.</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "prime";

    /// <summary>Compiles the workload on the interpreter and checks its result once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var workload = WorkloadCatalog.Get(Workload);
        compiled = workload.Compile(new InterpreterEngine(), ExecutionOptions.Default);
        observable = (IObservableProgram)compiled.Program;
        input = workload.CreateInput();
        if (observable.Run(input, [], noOp) != workload.Expected)
        {
            throw new InvalidOperationException($"the observed interpreter does not return {workload.Expected} on {Workload}");
        }
    }

    /// <summary>A plain run.</summary>
    [Benchmark(Baseline = true)]
    public ulong Unobserved() => observable!.Run(input);

    /// <summary>A run under an observer that does nothing.</summary>
    [Benchmark]
    public ulong NoOpObserver() => observable!.Run(input, [], noOp);

    /// <summary>A run under the profiler.</summary>
    [Benchmark]
    public ulong Profiler() => observable!.Run(input, [], profiler);

    /// <summary>Releases the compiled program.</summary>
    [GlobalCleanup]
    public void Cleanup() => compiled?.Dispose();

    private sealed class NoOp : IInstructionObserver
    {
        public void OnInstruction(in InstructionStep step)
        {
        }
    }
}
