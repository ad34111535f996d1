using Ebpf.Engines;

namespace Ebpf.Tests.Infrastructure;

/// <summary>
/// The engines every program-running test runs on: those of <see cref="EngineCatalog"/> (the one list the tool and
/// the benchmarks use too); an engine that reports itself unavailable on this machine is left out of the theories
/// (and named by <see cref="Unavailable"/>).
/// </summary>
public static class TestEngines
{
    private static readonly IReadOnlyList<IExecutionEngine> Candidates = EngineCatalog.CreateAll();

    /// <summary>The engines available here.</summary>
    public static IReadOnlyList<IExecutionEngine> All { get; } = Candidates.Where(e => e.IsAvailable).ToArray();

    /// <summary>Engines that exist but cannot run here, with the reason.</summary>
    public static IReadOnlyList<(string Name, string Reason)> Unavailable { get; } =
        Candidates.Where(e => !e.IsAvailable).Select(e => (e.Name, e.UnavailableReason ?? "unavailable")).ToArray();

    /// <summary>The names of the available engines, for theories.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var engine in All)
        {
            data.Add(engine.Name);
        }

        return data;
    }

    /// <summary>The engine with this name.</summary>
    public static IExecutionEngine Get(string name) =>
        All.FirstOrDefault(e => e.Name == name) ?? throw new ArgumentException($"no available engine named '{name}'", nameof(name));
}
