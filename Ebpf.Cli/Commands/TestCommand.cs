using System.CommandLine;
using Ebpf.Cli.Testing;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf test PATH...</c>: runs bpf_conformance <c>.data</c> tests on one engine or all.</summary>
internal static class TestCommand
{
    public static Command Create(ToolContext context)
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "bpf_conformance .data files, or folders holding them",
            Arity = ArgumentArity.OneOrMore,
        };
        var engine = new Option<string?>("--engine", "-e")
        {
            Description = "The engine (interpreter, il, x64, auto) or 'all' for every engine available here. Default: interpreter",
            HelpName = "NAME|all",
        };
        engine.CompletionSources.Add([.. context.EngineChoices(), "all"]);
        var json = new Option<bool>("--json")
        {
            Description = "Print the results as JSON (per engine: passed, failed and each failure) instead of text",
        };
        var options = new EngineOptions();
        var command = new Command("test", "Run bpf_conformance .data tests; prints a FAIL line per failure and 'N passed, M failed'");
        command.Arguments.Add(paths);
        command.Options.Add(engine);
        options.AddTo(command);
        command.Options.Add(json);
        context.SetAction(command, parse =>
        {
            var files = CollectFiles(parse.GetValue(paths)!);
            bool all = string.Equals(parse.GetValue(engine), "all", StringComparison.OrdinalIgnoreCase);
            var engines = ChooseEngines(context, parse.GetValue(engine));
            var cases = files.Select(ConformanceCase.Read).ToList();
            var executionOptions = options.Read(parse);
            bool asJson = parse.GetValue(json);
            var text = asJson ? TextWriter.Null : context.Out;
            var results = new List<(string Engine, int Passed, List<(string Path, string Failure)> Failures)>();
            using var progress = new ProgressLine(context, enabled: !asJson);
            int totalPassed = 0, totalFailed = 0;
            foreach (var chosen in engines)
            {
                int passed = 0, failed = 0;
                var failures = new List<(string Path, string Failure)>();
                for (int i = 0; i < cases.Count; i++)
                {
                    var testCase = cases[i];
                    progress.Show($"test: {chosen.Name} {i + 1}/{cases.Count} {Path.GetFileName(testCase.Path)}");

                    string? failure = testCase.RunOn(chosen, executionOptions, context.Stopping);
                    if (failure is null)
                    {
                        passed++;
                        continue;
                    }

                    failed++;
                    failures.Add((testCase.Path, failure.ReplaceLineEndings(" ")));
                    progress.Clear();

                    text.WriteLine($"FAIL {chosen.Name} {testCase.Path}: {failure.ReplaceLineEndings(" ")}");
                }

                progress.Clear();
                if (all)
                {
                    text.WriteLine($"{chosen.Name}: {passed} passed, {failed} failed");
                }

                results.Add((chosen.Name, passed, failures));
                totalPassed += passed;
                totalFailed += failed;
            }

            text.WriteLine($"{totalPassed} passed, {totalFailed} failed");
            if (asJson)
            {
                context.Out.WriteLine(JsonText.Object(w =>
                {
                    w.WriteStartArray("engines");
                    foreach (var (name, passed, failures) in results)
                    {
                        w.WriteStartObject();
                        w.WriteString("engine", name);
                        w.WriteNumber("passed", passed);
                        w.WriteNumber("failed", failures.Count);
                        w.WriteStartArray("failures");
                        foreach (var (path, failure) in failures)
                        {
                            w.WriteStartObject();
                            w.WriteString("path", path);
                            w.WriteString("error", failure);
                            w.WriteEndObject();
                        }

                        w.WriteEndArray();
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteNumber("passed", totalPassed);
                    w.WriteNumber("failed", totalFailed);
                }));
            }

            return totalFailed == 0 ? 0 : 1;
        });
        return command;
    }

    private static List<IExecutionEngine> ChooseEngines(ToolContext context, string? name)
    {
        if (!string.Equals(name, "all", StringComparison.OrdinalIgnoreCase))
        {
            return [context.SelectEngine(name)];
        }

        foreach (var unavailable in context.Engines.Engines.Where(e => !e.IsAvailable))
        {
            context.Out.WriteLine($"{unavailable.Name}: skipped ({unavailable.UnavailableReason ?? "unavailable"})");
        }

        var available = context.Engines.Engines.Where(e => e.IsAvailable).ToList();
        return available.Count > 0 ? available : throw new ToolException("no engine is available here");
    }

    private static List<string> CollectFiles(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var found = Directory.GetFiles(path, "*.data").Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0)
                {
                    throw new ToolException($"no .data files in '{path}'");
                }

                files.AddRange(found);
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new ToolException($"not found: {path}");
            }
        }

        return files;
    }
}
