using System.CommandLine;
using System.Globalization;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;

namespace Ebpf.Cli.Commands;

/// <summary>
/// <c>ebpf fuzz --programs N [--seed S] [--engines LIST]</c>: a differential campaign over generated programs on
/// every processor, ending with <c>fuzz: N programs, M mismatches, K unexpected exceptions</c>. Every program is also
/// analysed by the proving verifier (the <c>verifier:</c> lines, in all and per generator family); a run that
/// contradicts a proof fails the campaign, and so does a compilation that drops proven checks and ends otherwise than
/// with every check on (the <c>proof use:</c> line), or a proven packet access outside the packet (the
/// <c>packet bounds:</c> line). Runs are bounded by instruction budgets, not by the wall-clock run-time limit.
/// Ctrl+C or SIGTERM stops it after the programs under way, with the lines of what ran (exit code 130).
/// </summary>
internal static class FuzzCommand
{
    public static Command Create(ToolContext context)
    {
        var programs = new Option<long?>("--programs")
        {
            Description = "How many generated programs to run",
            HelpName = "N",
            Required = true,
            CustomParser = PositiveNumber.Int64("--programs", "programs"),
        };
        var seed = new Option<ulong?>("--seed")
        {
            Description = "The campaign's seed (default: random, printed); program i of a seed is always the same",
            HelpName = "S",
        };
        var engines = new Option<string>("--engines")
        {
            Description = "'all' or a comma-separated list; the first is the reference the others are compared with",
            HelpName = "all|LIST",
            DefaultValueFactory = _ => "all",
        };
        var threads = new Option<int>("--threads")
        {
            Description = "Threads running programs (default: one per processor)",
            DefaultValueFactory = _ => System.Environment.ProcessorCount,
            CustomParser = PositiveNumber.Int32("--threads", "threads"),
        };

        var command = new Command("fuzz", "Run generated programs on several engines in parallel and compare every outcome (r0, memory, error kind and pc), with and without memory checks; check every run against the verifier's proofs");
        command.Options.Add(programs);
        command.Options.Add(seed);
        command.Options.Add(engines);
        command.Options.Add(threads);
        context.SetAction(command, parse =>
        {
            long count = parse.GetValue(programs)!.Value;
            ulong campaignSeed = parse.GetValue(seed) ?? (ulong)Random.Shared.NextInt64();
            var (chosen, _) = BenchCommand.ChooseEngines(context, parse.GetValue(engines)!);
            int parallelism = parse.GetValue(threads);
            var c = CultureInfo.InvariantCulture;
            context.Out.WriteLine(string.Create(c, $"fuzz: seed {campaignSeed}, engines {string.Join(", ", chosen.Select(e => e.Name))} ({chosen[0].Name} is the reference), {parallelism} thread(s)"));

            // Each generated program runs once per configuration: x64 builds a program's own helper loop at compile time
            // here, not once the program is hot, so that the comparison covers it.
            AppContext.SetSwitch("Ebpf.X64.OwnHelperLoopAtCompile", true);
            var campaign = new DifferentialCampaign(chosen, GeneratedCases.For(campaignSeed, chosen[0])) { Parallelism = parallelism };
            CampaignResult result;
            using (var progress = new ProgressLine(context))
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var report = progress.Counter(done => string.Create(c, $"fuzz: {done}/{count} programs ({done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0}/s)"));
                result = campaign.Run(count, report, context.Stopping);
            }

            foreach (var finding in result.Findings)
            {
                context.Out.WriteLine(string.Create(c, $"FINDING {finding.Kind} in program {finding.Index} (repeat: ebpf fuzz --seed {campaignSeed} --programs {finding.Index + 1}):"));
                context.Out.WriteLine("  " + finding.Message.ReplaceLineEndings(System.Environment.NewLine + "  "));
                context.Out.WriteLine("  " + finding.Description.ReplaceLineEndings(System.Environment.NewLine + "  "));
            }

            context.Out.WriteLine("outcomes: " + string.Join(", ", result.Outcomes.Select(o => $"{o.Key} {o.Value.ToString(c)}")));
            context.Out.WriteLine(result.Verifier!.Summary);
            foreach (var (family, tally) in result.Verifier.Families)
            {
                context.Out.WriteLine($"verifier, {family}: {tally.Summary}");
            }

            context.Out.WriteLine(result.Verifier.ProofUseSummary);
            context.Out.WriteLine(result.Verifier.PacketSummary);
            double seconds = result.Elapsed.TotalSeconds;
            context.Out.WriteLine(string.Create(c, $"time: {seconds:F1} s ({result.Programs / Math.Max(seconds, 1e-9):F0} programs/s)"));
            if (result.Stopped)
            {
                context.Out.WriteLine(string.Create(c, $"fuzz: interrupted after {result.Programs} of {count} programs"));
            }

            context.Out.WriteLine(result.Summary);
            return result.Stopped ? ToolContext.Interrupted : result.IsClean ? 0 : 1;
        });
        return command;
    }
}
