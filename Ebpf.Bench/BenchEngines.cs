using Ebpf.Bench.Workloads;
using Ebpf.Engines;

namespace Ebpf.Bench;

/// <summary>
/// The engines the suite measures: every engine of <see cref="EngineCatalog"/> that is available on this machine, each with
/// memory checks on, and the ones that can turn them off also without (see <see cref="EngineConfiguration.For"/>).
/// </summary>
internal static class BenchEngines
{
    private static readonly IReadOnlyList<IExecutionEngine> Candidates = EngineCatalog.CreateAll();

    /// <summary>The available engines.</summary>
    public static IReadOnlyList<IExecutionEngine> Available { get; } = Candidates.Where(e => e.IsAvailable).ToArray();

    /// <summary>Engines that exist here but cannot run, with the reason.</summary>
    public static IReadOnlyList<(string Name, string Reason)> Unavailable { get; } =
        Candidates.Where(e => !e.IsAvailable).Select(e => (e.Name, e.UnavailableReason ?? "unavailable")).ToArray();

    /// <summary>The measured configurations.</summary>
    public static IReadOnlyList<EngineConfiguration> Configurations { get; } = EngineConfiguration.For(Available);

    /// <summary>The labels of the configurations with memory checks on (one per engine).</summary>
    public static IEnumerable<string> CheckedLabels => Configurations.Where(c => c.Options.MemoryChecks).Select(c => c.Label);

    /// <summary>The configuration with this label.</summary>
    public static EngineConfiguration Get(string label) =>
        Configurations.FirstOrDefault(c => c.Label == label)
        ?? throw new ArgumentException($"no available engine configuration '{label}' (available: {string.Join(", ", Configurations)})", nameof(label));
}
