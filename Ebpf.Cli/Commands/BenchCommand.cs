using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ebpf.Cli.Benchmarking;
using Ebpf.Cli.Diagnostics;
using Ebpf.Cli.Loading;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf bench PROGRAM</c>: compiles a program on several engines, checks they agree, and times them.</summary>
internal static class BenchCommand
{
    public static Command Create(ToolContext context)
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program: .bin, .s/.asm, .data or an ELF object" };
        var engines = new Option<string>("--engines")
        {
            Description = "'all' (every engine available here) or a comma-separated list, e.g. interpreter,il",
            HelpName = "all|LIST",
            DefaultValueFactory = _ => "all",
        };
        var iterations = new Option<long?>("--iterations", "-n")
        {
            Description = "Runs per batch (default: calibrated so that a batch lasts at least 20 ms)",
            HelpName = "ITERATIONS",
            CustomParser = PositiveNumber.Int64("--iterations", "runs"),
        };
        var batches = new Option<int>("--batches")
        {
            Description = "Timed batches per engine (after a warm-up of at least 0.2 s that lasts until .NET stops recompiling); min and median are over these",
            DefaultValueFactory = _ => 10,
            CustomParser = PositiveNumber.Int32("--batches", "batches"),
        };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var profile = ProfileReport.Option();
        var section = SharedOptions.Section();
        var memory = new MemoryOptions();
        var options = new EngineOptions(withTimeout: false);

        var command = new Command("bench", "Compile a program on each engine (each loading it afresh: its own maps and global data), check they agree on r0, and report compile time and ns per run (min and median of batches, and the measuring loop's own share)");
        command.Arguments.Add(program);
        memory.AddTo(command);
        command.Options.Add(engines);
        command.Options.Add(iterations);
        command.Options.Add(batches);
        command.Options.Add(json);
        command.Options.Add(profile);
        options.AddTo(command);
        command.Options.Add(section);
        context.SetAction(command, parse =>
        {
            string path = parse.GetValue(program)!;
            string? sectionName = parse.GetValue(section);
            using var loaded = ProgramFile.Load(path, sectionName);
            var input = memory.Read(parse, loaded.Memory, context.StandardInput);
            var executionOptions = options.Read(parse);
            var (chosen, skipped) = ChooseEngines(context, parse.GetValue(engines)!);

            // Each engine gets the program loaded again from the file: its own maps and global data, as they are
            // before any run, so that one engine's runs never change what another computes or how fast.
            LoadedProgram Fresh() => ProgramFile.Load(path, sectionName);
            ulong r0 = Agree(chosen, Fresh, executionOptions, input);
            var results = new List<EngineMeasurement>();
            using (var progress = new ProgressLine(context, enabled: !parse.GetValue(json)))
            {
                foreach (var engine in chosen)
                {
                    progress.Show($"bench: {engine.Name} ({results.Count + 1}/{chosen.Count})", force: true);
                    using var own = Fresh();
                    results.Add(BenchRunner.Measure(engine, own, executionOptions, input, parse.GetValue(iterations), parse.GetValue(batches)));
                }
            }

            context.Out.Write(parse.GetValue(json)
                ? Json(path, loaded.Program, r0, executionOptions, results, skipped)
                : Table(path, loaded.Program, r0, results, skipped));
            if (parse.GetValue(profile))
            {
                ProfileReport.Profile(context, loaded, executionOptions, input, parse.GetValue(iterations) ?? 1);
            }

            return 0;
        });
        return command;
    }

    internal static (List<IExecutionEngine> Chosen, List<IExecutionEngine> Skipped) ChooseEngines(ToolContext context, string list)
    {
        if (string.Equals(list.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            var all = context.Engines.Engines;
            var available = all.Where(e => e.IsAvailable).ToList();
            return available.Count > 0 ? (available, all.Where(e => !e.IsAvailable).ToList()) : throw new ToolException("no engine is available here");
        }

        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
        {
            throw new ToolException("--engines: give 'all' or a comma-separated list of engine names");
        }

        var chosen = names.Select(context.SelectEngine).DistinctBy(e => e.Name).ToList();
        return (chosen, []);
    }

    /// <summary>Runs the program once on each engine, each on a freshly loaded copy, and returns the r0 they agree on.</summary>
    /// <exception cref="ToolException">An engine fails, or the engines disagree.</exception>
    private static ulong Agree(List<IExecutionEngine> engines, Func<LoadedProgram> load, ExecutionOptions options, byte[] input)
    {
        var results = new List<(string Engine, ulong R0)>();
        foreach (var engine in engines)
        {
            using var loaded = load();
            try
            {
                using var compiled = loaded.Compile(engine, options);
                results.Add((engine.Name, compiled.Run(input.ToArray())));
            }
            catch (EbpfException e)
            {
                throw new ToolException($"{engine.Name}: {e.Message}", e);
            }
        }

        if (results.Select(r => r.R0).Distinct().Count() > 1)
        {
            throw new ToolException("the engines disagree on r0: " + string.Join(", ", results.Select(r => $"{r.Engine} {ResultText.Format(r.R0)}")));
        }

        return results[0].R0;
    }

    private static string Table(string path, EbpfProgram program, ulong r0, List<EngineMeasurement> results, List<IExecutionEngine> skipped)
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"{path}: {program.Length} slots; r0 = {ResultText.Format(r0)} on every engine");
        int width = Math.Max("engine".Length, results.Max(r => r.Engine.Length));
        sb.AppendLine(c, $"{"engine".PadRight(width)}  {"compile ms",10}  {"compile+1st run ms",18}  {"min ns/run",12}  {"median ns/run",13}  {"loop ns/run",11}  {"runs/batch",10}  {"batches",7}");
        foreach (var r in results)
        {
            sb.AppendLine(c, $"{r.Engine.PadRight(width)}  {r.CompileMilliseconds,10:F3}  {r.FirstRunMilliseconds,18:F3}  {r.MinNanosecondsPerRun,12:F1}  {r.MedianNanosecondsPerRun,13:F1}  {r.LoopNanosecondsPerRun,11:F1}  {r.RunsPerBatch,10}  {r.Batches,7}");
        }

        sb.AppendLine("ns/run include the measuring loop; loop ns/run is the same loop over a run that does nothing (median)");

        foreach (var e in skipped)
        {
            sb.AppendLine(c, $"{e.Name}: skipped ({e.UnavailableReason ?? "unavailable"})");
        }

        return sb.ToString();
    }

    private static string Json(string path, EbpfProgram program, ulong r0, ExecutionOptions options, List<EngineMeasurement> results, List<IExecutionEngine> skipped)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("program", path);
            w.WriteNumber("slots", program.Length);
            w.WriteNumber("r0", r0);
            w.WriteBoolean("memoryChecks", options.MemoryChecks);
            w.WriteStartArray("engines");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Engine);
                w.WriteNumber("compileMs", Math.Round(r.CompileMilliseconds, 4));
                w.WriteNumber("compileAndFirstRunMs", Math.Round(r.FirstRunMilliseconds, 4));
                w.WriteNumber("minNsPerRun", Math.Round(r.MinNanosecondsPerRun, 2));
                w.WriteNumber("medianNsPerRun", Math.Round(r.MedianNanosecondsPerRun, 2));
                w.WriteNumber("loopNsPerRun", Math.Round(r.LoopNanosecondsPerRun, 2));
                w.WriteNumber("runsPerBatch", r.RunsPerBatch);
                w.WriteNumber("batches", r.Batches);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("skipped");
            foreach (var e in skipped)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("reason", e.UnavailableReason ?? "unavailable");
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }
}
