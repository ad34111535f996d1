using System.Globalization;
using Ebpf.Conformance;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Verification;

namespace Ebpf.Cli.Plugin;

/// <summary>
/// The bpf_conformance plugin: what the suite's runner starts as <c>--plugin_path</c>. The runner passes
/// <c>[MEMORY-HEX] [PLUGIN-OPTIONS...] [--elf]</c>, where MEMORY-HEX is one argument of hex bytes separated by spaces
/// (absent when the test has no memory) and the plugin options are the runner's <c>--plugin_options</c> split at
/// spaces; the program arrives on standard input as one line of hex bytes (an ELF object with <c>--elf</c>). The plugin
/// prints r0 in hex and exits 0, or prints one line of error text to standard error and exits 1.
/// This tool is reached with <c>--plugin_options "plugin [--engine NAME] [--budget N] [--timeout SECONDS]"</c>, so the word
/// <see cref="CommandName"/> comes first or right after the memory argument.
/// </summary>
public static class ConformancePlugin
{
    /// <summary>The word that selects plugin mode.</summary>
    public const string CommandName = "plugin";

    /// <summary>
    /// When <paramref name="args"/> ask for plugin mode (the word <see cref="CommandName"/> first, or second after a
    /// memory argument), the arguments for <see cref="Run"/> (the memory argument, if any, then the options).
    /// Arguments the older runner passed whole (<c>"plugin --engine il"</c> as one argument) are split at spaces.
    /// </summary>
    public static bool TryGetPluginArguments(IReadOnlyList<string> args, out IReadOnlyList<string> pluginArgs)
    {
        var tokens = new List<string>();
        foreach (var arg in args)
        {
            if (arg.Length == 0)
            {
                continue;
            }

            string trimmed = arg.TrimStart();
            if (trimmed.StartsWith("--", StringComparison.Ordinal) || trimmed.StartsWith(CommandName, StringComparison.Ordinal))
            {
                tokens.AddRange(trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (trimmed.Length != 0)
            {
                tokens.Add(arg);
            }
        }

        int at = tokens.Count > 0 && tokens[0] == CommandName ? 0
            : tokens.Count > 1 && tokens[1] == CommandName && IsHexBytes(tokens[0]) ? 1
            : -1;
        if (at < 0)
        {
            pluginArgs = [];
            return false;
        }

        tokens.RemoveAt(at);
        pluginArgs = tokens;
        return true;
    }

    /// <summary>Runs one program as the runner asks: see the type's summary. Returns the exit code.</summary>
    /// <param name="args">The memory argument (optional, first) and the options (<c>--engine NAME</c>, <c>--budget N</c>, <c>--elf</c>).</param>
    /// <param name="stdin">Where the program's hex line is read from.</param>
    /// <param name="stdout">Where r0 is printed.</param>
    /// <param name="stderr">Where the error line is printed.</param>
    public static int Run(IReadOnlyList<string> args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        try
        {
            var request = PluginRequest.Parse(args);
            byte[] code = ConformanceTest.ParseHexBytes(stdin.ReadToEnd());
            // --timeout alone limits the run (0 = none): the default RunTimeLimit would override a longer one.
            var options = ExecutionOptions.Default with { InstructionBudget = request.Budget, Timeout = request.Timeout, RunTimeLimit = null };
            ulong r0 = request.Elf ? RunElf(request, code, options) : RunRaw(request, code, options);
            stdout.WriteLine(r0.ToString("x", CultureInfo.InvariantCulture));
            return 0;
        }
        catch (Exception e) when (e is EbpfException or ArgumentException or InvalidOperationException)
        {
            stderr.WriteLine(OneLine(e.Message));
            return 1;
        }
        catch (Exception e)
        {
            // Not an expected failure (a defect somewhere): still one line and the failure exit code, never an abort.
            stderr.WriteLine(OneLine($"internal error: {e.GetType().Name}: {e.Message}"));
            return 1;
        }
    }

    private static ulong RunRaw(PluginRequest request, byte[] code, ExecutionOptions options)
    {
        var program = ProgramLoader.Load(code);
        var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        using var compiled = request.Engine.Compile(program, environment, options);
        return Execute(compiled, request.Memory);
    }

    /// <summary>
    /// An ELF object: its default program, linked, with its maps and the helpers its calls name (the Linux helpers, as
    /// <c>ebpf run</c> gives them); the conformance test helpers are only for raw programs, since their ids (1, 2, 3, 5)
    /// are the Linux map helpers' ids.
    /// </summary>
    private static ulong RunElf(PluginRequest request, byte[] code, ExecutionOptions options)
    {
        var elf = ElfLoader.Load(code, "standard input");
        using var runtime = elf.CreateRuntime();
        using var compiled = runtime.Compile(request.Engine, null, options);
        return Execute(compiled, request.Memory);
    }

    private static ulong Execute(ICompiledProgram compiled, byte[] memory) => memory.Length == 0 ? compiled.Run() : compiled.Run(memory);

    private static bool IsHexBytes(string text) => text.All(c => char.IsAsciiHexDigit(c) || char.IsWhiteSpace(c));

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
