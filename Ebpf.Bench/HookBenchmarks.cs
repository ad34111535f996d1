using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Ebpf.Bench.Workloads;
using Ebpf.Diagnostics;

namespace Ebpf.Bench;

/// <summary>
/// What the run hooks cost on a short workload: nothing attached, a meter listener on every <c>Ebpf</c> instrument, a
/// cancellable token, a timeout (a timer armed per run).
/// </summary>
[MemoryDiagnoser]
public class HookBenchmarks
{
    private CompiledWorkload? compiled;
    private CompiledWorkload? timed;
    private byte[] input = [];
    private MeterListener? listener;
    private CancellationTokenSource? source;

    /// <summary>The engines measured (memory checks on).</summary>
    public static IEnumerable<string> Engines => BenchEngines.CheckedLabels.Where(BenchSelection.IncludesEngine);

    /// <summary>The engine.</summary>
    [ParamsSource(nameof(Engines))]
    public string Engine { get; set; } = "interpreter";

    /// <summary>What is attached to the run: none, listener, token, timeout.</summary>
    [Params("none", "listener", "token", "timeout")]
    public string Hook { get; set; } = "none";

    /// <summary>Compiles the <c>straight</c> workload (a few dozen instructions, no loop).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var configuration = BenchEngines.Get(Engine);
        var workload = WorkloadCatalog.Get("straight");
        compiled = workload.Compile(configuration.Engine, configuration.Options);
        timed = workload.Compile(configuration.Engine, configuration.Options with { Timeout = TimeSpan.FromSeconds(10) });
        input = workload.CreateInput();
        source = new CancellationTokenSource();
        if (Hook == "listener")
        {
            listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == EbpfTelemetry.Name)
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((_, _, _, _) => { });
            listener.SetMeasurementEventCallback<double>((_, _, _, _) => { });
            listener.Start();
        }
    }

    /// <summary>One run with the hook.</summary>
    [Benchmark]
    public ulong Run() => Hook switch
    {
        "token" => compiled!.Program.Run(input, source!.Token),
        "timeout" => timed!.Program.Run(input),
        _ => compiled!.Program.Run(input),
    };

    /// <summary>Releases what the setup made.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        listener?.Dispose();
        source?.Dispose();
        compiled?.Dispose();
        timed?.Dispose();
    }
}
