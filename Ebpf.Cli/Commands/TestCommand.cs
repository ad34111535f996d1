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
        var options = new EngineOptions();
        var command = new Command("test", "Run bpf_conformance .data tests; prints a FAIL line per failure and 'N passed, M failed'");
        command.Arguments.Add(paths);
        command.Options.Add(engine);
        options.AddTo(command);
        context.SetAction(command, parse =>
        {
            var files = CollectFiles(parse.GetValue(paths)!);
            bool all = string.Equals(parse.GetValue(engine), "all", StringComparison.OrdinalIgnoreCase);
            var engines = ChooseEngines(context, parse.GetValue(engine));
            var cases = files.Select(ConformanceCase.Read).ToList();
            var executionOptions = options.Read(parse);
            int totalPassed = 0, totalFailed = 0;
            foreach (var chosen in engines)
            {
                int passed = 0, failed = 0;
                for (int i = 0; i < cases.Count; i++)
                {
                    var testCase = cases[i];
                    if (context.Interactive)
                    {
                        context.Err.Write($"\r{chosen.Name}: {i + 1}/{cases.Count} {Path.GetFileName(testCase.Path)}".PadRight(72));
                    }

                    string? failure = testCase.RunOn(chosen, executionOptions, context.Stopping);
                    if (failure is null)
                    {
                        passed++;
                        continue;
                    }

                    failed++;
                    if (context.Interactive)
                    {
                        context.Err.Write("\r" + new string(' ', 72) + "\r");
                    }

                    context.Out.WriteLine($"FAIL {chosen.Name} {testCase.Path}: {failure.ReplaceLineEndings(" ")}");
                }

                if (context.Interactive)
                {
                    context.Err.Write("\r" + new string(' ', 72) + "\r");
                }

                if (all)
                {
                    context.Out.WriteLine($"{chosen.Name}: {passed} passed, {failed} failed");
                }

                totalPassed += passed;
                totalFailed += failed;
            }

            context.Out.WriteLine($"{totalPassed} passed, {totalFailed} failed");
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
