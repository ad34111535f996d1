using BenchmarkDotNet.Running;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// The benchmark suite. Every invocation first runs the smoke check (each workload once on each available engine
/// configuration, compared with the native reference's r0) and exits with 1 on any disagreement; <c>--smoke</c> stops
/// there; <c>--listing</c> prints the x64 machine code of the workloads <c>--workloads</c> names (default: memcpy);
/// <c>--cancel-latency</c> then measures how fast each engine stops a cancelled run; <c>--floor</c> the fastest per-run time of short programs and of the workloads <c>--workloads</c> names (default: straight, memcpy, hashmap; see <see cref="RunFloorProbe"/>); <c>--floor-workloads</c> the same for the workloads alone (default: helper_calls), so that their own runs tier the run path up, as in a BenchmarkDotNet process; <c>--paired</c> the cost of memory checks, checked and unchecked runs alternating in one process (<c>--rounds N</c>, default 31; <c>--compiles K</c> compiles each configuration K times and compares medians over the copies; see <see cref="PairedChecksProbe"/>); <c>--floor-layers</c> where the per-run time of the short programs goes (see <see cref="RunFloorLayersProbe"/>); <c>--map-lookup</c> where the time of a map lookup goes (see <see cref="MapLookupProbe"/>); <c>--suite NATIVE.so</c> every workload with native code in the same process (see <see cref="SuiteProbe"/>). <c>--engines a,b</c> and <c>--workloads a,b</c> narrow the measured cases (e.g. <c>--engines x64,il
/// --workloads prime,log2</c>). Other arguments go to BenchmarkDotNet, e.g. <c>--filter '*' --job Dry</c> or
/// <c>--filter '*Run*' --job Short</c>. <c>bench/run-all.sh</c> runs the whole run-time suite with the native
/// reference and prints the README's tables (<c>bench/report.py</c>).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        args = BenchSelection.Parse(args);
        Console.WriteLine($"engines: {string.Join(", ", BenchEngines.Configurations)}");
        foreach (var (name, reason) in BenchEngines.Unavailable)
        {
            Console.WriteLine($"unavailable: {name} ({reason})");
        }

        if (args.Contains("--suite"))
        {
            // No smoke check first: it would run every engine in this process and tier the shared run path up with
            // their mixed profile; the suite checks each measured configuration's r0 itself.
            return RunSuite(args);
        }

        var outcomes = SmokeCheck.Run(BenchEngines.Configurations, WorkloadCatalog.All);
        if (!SmokeCheck.Report(outcomes, Console.Out))
        {
            return 1;
        }

        if (args.Contains("--smoke"))
        {
            return 0;
        }

        if (args.Contains("--floor"))
        {
            RunFloorProbe.Report(Console.Out, BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : ["straight", "memcpy", "hashmap"]);
            return 0;
        }

        if (args.Contains("--paired"))
        {
            if (!TryNumber(args, "--rounds", 31, 3, int.MaxValue, out int rounds) || !TryNumber(args, "--compiles", 1, 1, 20, out int compiles))
            {
                return 2;
            }

            PairedChecksProbe.Report(Console.Out, BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : PairedChecksProbe.DefaultWorkloads, rounds, compiles);
            return 0;
        }

        if (args.Contains("--floor-workloads"))
        {
            RunFloorProbe.Report(Console.Out, BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : ["helper_calls"], shortPrograms: false);
            return 0;
        }

        if (args.Contains("--floor-shifts"))
        {
            StackShiftProbe.Report(Console.Out, BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : ["helper_calls"]);
            return 0;
        }

        if (args.Contains("--listing"))
        {
            X64Listing.Report(Console.Out, BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : ["memcpy"]);
            return 0;
        }

        if (args.Contains("--floor-layers"))
        {
            RunFloorLayersProbe.Report(Console.Out);
            return 0;
        }

        if (args.Contains("--map-lookup"))
        {
            MapLookupProbe.Report(Console.Out);
            return 0;
        }

        if (args.Contains("--cancel-latency"))
        {
            CancellationLatency.Report(Console.Out);
            return 0;
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    /// <summary><c>--suite NATIVE.so [--rounds N]</c>: see <see cref="SuiteProbe"/>.</summary>
    private static int RunSuite(string[] args)
    {
        int at = Array.IndexOf(args, "--suite");
        if (at + 1 >= args.Length || args[at + 1].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine("--suite needs the native reference library (build it with LIB=PATH bench/native/run.sh)");
            return 2;
        }

        if (!TryNumber(args, "--rounds", 15, 3, int.MaxValue, out int rounds))
        {
            return 2;
        }

        try
        {
            SuiteProbe.Report(Console.Out, args[at + 1], BenchSelection.Workloads.Count > 0 ? BenchSelection.Workloads : WorkloadCatalog.All.Select(w => w.Name), rounds);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (InvalidOperationException e)
        {
            // A native reference that lacks a workload or disagrees with WorkloadInputs, or a configuration whose r0
            // is not the catalog's: one line, and the run fails.
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>
    /// The whole number after <paramref name="option"/> (<paramref name="fallback"/> when the option is absent); false,
    /// with the error written, when it is missing, not a number or outside [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    private static bool TryNumber(string[] args, string option, int fallback, int min, int max, out int value)
    {
        value = fallback;
        int at = Array.IndexOf(args, option);
        if (at < 0 || (at + 1 < args.Length && int.TryParse(args[at + 1], out value) && value >= min && value <= max))
        {
            return true;
        }

        Console.Error.WriteLine(max == int.MaxValue ? $"{option} needs a whole number of at least {min}" : $"{option} needs a whole number from {min} to {max}");
        return false;
    }
}
