namespace Ebpf.Bench.Workloads;

/// <summary>One smoke run: the configuration, the workload, and r0 or the error it raised.</summary>
/// <param name="Configuration">The engine configuration.</param>
/// <param name="Workload">The workload.</param>
/// <param name="Result">r0, or null when the run failed.</param>
/// <param name="Error">The failure, or null.</param>
internal sealed record SmokeOutcome(EngineConfiguration Configuration, Workload Workload, ulong? Result, string? Error)
{
    /// <summary>True when the run returned the expected r0.</summary>
    public bool Agrees => Result == Workload.Expected;
}
