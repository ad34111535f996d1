namespace Ebpf.Bench;

/// <summary>
/// Optional narrowing of the measured cases, from the suite's own arguments <c>--engines a,b</c> and
/// <c>--workloads a,b</c> (removed before the rest goes to BenchmarkDotNet). Empty means everything.
/// </summary>
internal static class BenchSelection
{
    private static string[] engines = [];
    private static string[] workloads = [];

    /// <summary>Takes the suite's options out of <paramref name="args"/> and returns the rest.</summary>
    /// <exception cref="ArgumentException">An option lacks its value.</exception>
    public static string[] Parse(string[] args)
    {
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--engines":
                    engines = ValueOf(args, ++i, "--engines");
                    break;
                case "--workloads":
                    workloads = ValueOf(args, ++i, "--workloads");
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }

        return rest.ToArray();
    }

    /// <summary>True when the engine configuration <paramref name="label"/> is selected.</summary>
    public static bool IncludesEngine(string label) => engines.Length == 0 || engines.Contains(label);

    /// <summary>True when <c>--engines</c> names the engine configuration <paramref name="label"/> itself.</summary>
    public static bool NamesEngine(string label) => engines.Contains(label);

    /// <summary>The workloads <c>--workloads</c> names (empty when it was not given).</summary>
    public static IReadOnlyList<string> Workloads => workloads;

    /// <summary>True when the workload <paramref name="name"/> is selected.</summary>
    public static bool IncludesWorkload(string name) => workloads.Length == 0 || workloads.Contains(name);

    private static string[] ValueOf(string[] args, int i, string option) =>
        i < args.Length
            ? args[i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : throw new ArgumentException($"{option} needs a comma-separated list");
}
