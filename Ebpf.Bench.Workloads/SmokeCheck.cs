using System.Globalization;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// Runs every workload once on every engine configuration and compares r0 with the native reference's result
/// (and so with each other). The benchmarks refuse to measure engines that disagree.
/// </summary>
internal static class SmokeCheck
{
    /// <summary>Runs every workload on every configuration.</summary>
    public static IReadOnlyList<SmokeOutcome> Run(IEnumerable<EngineConfiguration> configurations, IEnumerable<Workload> workloads)
    {
        var outcomes = new List<SmokeOutcome>();
        foreach (var workload in workloads)
        {
            foreach (var configuration in configurations)
            {
                outcomes.Add(RunOne(configuration, workload));
            }
        }

        return outcomes;
    }

    /// <summary>Runs one workload on one configuration, catching the project's errors.</summary>
    public static SmokeOutcome RunOne(EngineConfiguration configuration, Workload workload)
    {
        try
        {
            return new SmokeOutcome(configuration, workload, workload.RunOnce(configuration.Engine, configuration.Options), null);
        }
        catch (EbpfException e)
        {
            return new SmokeOutcome(configuration, workload, null, e.GetType().Name + ": " + e.Message);
        }
    }

    /// <summary>Writes the outcomes as a table and returns true when every run agreed with the reference.</summary>
    public static bool Report(IReadOnlyList<SmokeOutcome> outcomes, TextWriter output)
    {
        output.WriteLine($"{"workload",-16} {"engine",-20} {"r0",22} {"expected",22}  status");
        foreach (var o in outcomes)
        {
            var result = o.Result?.ToString(CultureInfo.InvariantCulture) ?? "-";
            var status = o.Agrees ? "ok" : "DISAGREES" + (o.Error is null ? string.Empty : " (" + o.Error + ")");
            output.WriteLine($"{o.Workload.Name,-16} {o.Configuration.Label,-20} {result,22} {o.Workload.Expected,22}  {status}");
        }

        var bad = outcomes.Count(o => !o.Agrees);
        output.WriteLine(bad == 0
            ? $"smoke: all {outcomes.Count} runs agree with the native reference"
            : $"smoke: {bad} of {outcomes.Count} runs disagree with the native reference");
        return bad == 0;
    }
}
