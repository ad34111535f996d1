using System.Globalization;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// <c>--paired</c>: what memory checks cost, measured so that a ratio near 1 can be judged on an unsteady host. Per
/// workload, every selected engine that can turn checks off is compiled with checks on and off, plus a second
/// compilation of the first checked configuration (the control); all of them run on one input buffer in one process,
/// in short batches that alternate between the configurations round after round (the order rotates and reverses, so
/// no configuration always follows another); a round keeps each configuration's fastest of a few batches, so that a
/// batch the scheduler interrupted does not count. Each ratio is taken between batches of the same round, seconds apart at
/// most, and the median over the rounds is reported with its interquartile range. Slow phases of the host (another
/// process, a frequency change) hit both sides of a round alike, and placement effects that differ between processes
/// (the input's alignment, the layout of the managed loop) are the same for both sides. The control's ratio (the same
/// code compiled twice) shows what the harness itself can resolve: a checked/unchecked ratio is only meaningful where
/// it differs from 1 by more than the control's spread.
/// </summary>
internal static class PairedChecksProbe
{
    /// <summary>The workloads measured when <c>--workloads</c> names none: the loops of issues 11 and 13.</summary>
    public static readonly string[] DefaultWorkloads =
        ["memcpy", "memcpy_1m", "strcmp_equal", "strcmp_1m_early", "checksum", "filter", "prime", "log2", "stack_array", "switch"];

    private const string ControlSuffix = "#2";
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan BatchTime = TimeSpan.FromMilliseconds(0.3);

    /// <summary>Measures <paramref name="workloads"/> over <paramref name="rounds"/> rounds and writes the table.</summary>
    /// <remarks>
    /// With <paramref name="compiles"/> above 1 every configuration (and the control) is compiled that many times, each
    /// copy at its own code address, and a round compares the median of a configuration's copies: the same instructions
    /// can run 20-30% apart depending on where the loop lies (il's <c>memcpy</c>, compiled five times in one process,
    /// gave checked/unchecked ratios of 0.81x-1.33x), so one compilation per side can show a placement, not a check.
    /// </remarks>
    public static void Report(TextWriter output, IEnumerable<string> workloads, int rounds, int compiles = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(compiles, 1);
        var configurations = BenchEngines.Configurations
            .Where(c => BenchSelection.IncludesEngine(c.Label) || BenchSelection.IncludesEngine(c.Engine.Name))
            .Where(c => BenchEngines.Configurations.Any(other => other != c && other.Engine == c.Engine))
            .ToArray();
        if (configurations.Length == 0)
        {
            output.WriteLine("no selected engine can turn memory checks off");
            return;
        }

        output.WriteLine($"per-run time: per round and configuration the fastest of {AlternatingRounds.Repeats} batches of ~{BatchTime.TotalMilliseconds} ms (at least one run); median over {rounds} alternating rounds; ratios per round, median [quartiles]; control = the first checked configuration compiled twice; {compiles} compilation(s) per configuration, a round comparing the median of the copies");
        output.WriteLine();
        var il = configurations.FirstOrDefault(c => c.Engine.Name == "il" && c.Options.MemoryChecks);
        output.WriteLine("| workload | engine | checked | unchecked | checked / unchecked | checked / il checked | control |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        var logRatios = new Dictionary<string, List<double>>();
        foreach (var name in workloads)
        {
            var workload = WorkloadCatalog.Get(name);
            var result = Measure(workload, configurations, rounds, compiles);
            string[] Copies(string label) => Enumerable.Range(1, compiles).Select(k => Copy(label, k)).ToArray();
            foreach (var engine in configurations.Where(c => c.Options.MemoryChecks))
            {
                var unchecked_ = configurations.Single(c => c.Engine == engine.Engine && !c.Options.MemoryChecks);
                var ratio = AlternatingRounds.Quartiles(result.Ratio(Copies(engine.Label), Copies(unchecked_.Label)));
                string control = engine == configurations.First(c => c.Options.MemoryChecks)
                    ? Format(AlternatingRounds.Quartiles(result.Ratio(Copies(engine.Label), Copies(engine.Label + ControlSuffix))))
                    : "";
                string againstIl = il is null || il == engine ? "" : Format(AlternatingRounds.Quartiles(result.Ratio(Copies(engine.Label), Copies(il.Label))));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {engine.Label} | {AlternatingRounds.Time(result.Median(Copies(engine.Label)))} | {AlternatingRounds.Time(result.Median(Copies(unchecked_.Label)))} | {Format(ratio)} | {againstIl} | {control} |"));
                if (!logRatios.TryGetValue(engine.Label, out var list))
                {
                    logRatios[engine.Label] = list = [];
                }

                list.Add(Math.Log(ratio.Median));
            }
        }

        output.WriteLine();
        foreach (var (label, list) in logRatios)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: geometric mean of the median checked/unchecked ratios over {list.Count} workload(s): {Math.Exp(list.Average()):0.000}x"));
        }
    }

    /// <summary>Copy <paramref name="k"/> (from 1) of the configuration <paramref name="label"/>.</summary>
    private static string Copy(string label, int k) => string.Create(CultureInfo.InvariantCulture, $"{label}@{k}");

    /// <summary>Compiles every configuration (and the control) <paramref name="compiles"/> times, runs all copies on one input, alternating, and returns the per-round times.</summary>
    private static AlternatingRounds Measure(Workload workload, EngineConfiguration[] configurations, int rounds, int compiles)
    {
        var input = workload.CreateInput();
        var compiled = new List<(string Label, CompiledWorkload Program)>();
        try
        {
            var first = configurations.First(c => c.Options.MemoryChecks);
            for (int k = 1; k <= compiles; k++)
            {
                foreach (var configuration in configurations)
                {
                    compiled.Add((Copy(configuration.Label, k), workload.Compile(configuration.Engine, configuration.Options)));
                }

                compiled.Add((Copy(first.Label + ControlSuffix, k), workload.Compile(first.Engine, first.Options)));
            }

            var batches = new int[compiled.Count];
            for (int i = 0; i < compiled.Count; i++)
            {
                batches[i] = RunFloorProbe.Calibrate(new RunFloorProbe.PlainRun(compiled[i].Program.Program, input), WarmUp, BatchTime, firstRuns: 1);
            }

            return AlternatingRounds.Measure(compiled.Select(c => c.Label).ToArray(), rounds, index =>
                RunFloorProbe.Batch(new RunFloorProbe.PlainRun(compiled[index].Program.Program, input), batches[index]));
        }
        finally
        {
            foreach (var (_, program) in compiled)
            {
                program.Dispose();
            }
        }
    }

    private static string Format((double Low, double Median, double High) ratio) =>
        string.Create(CultureInfo.InvariantCulture, $"{ratio.Median:0.000}x [{ratio.Low:0.000}, {ratio.High:0.000}]");

}
