using System.CommandLine;
using System.CommandLine.Invocation;
using Ebpf.Cli.Commands;

namespace Ebpf.Cli;

/// <summary>The <c>ebpf</c> commands, runnable in-process with any output and error writers.</summary>
internal static class EbpfTool
{
    /// <summary>The exit code of a command-line usage error (unknown command or option, missing argument, bad option value).</summary>
    public const int UsageError = 2;

    /// <summary>Parses <paramref name="args"/> and runs the command.</summary>
    /// <param name="args">The arguments (without the tool's name).</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where errors (and, when <paramref name="interactive"/>, progress) go.</param>
    /// <param name="engines">The engines (default: every engine of this build, through dependency injection).</param>
    /// <param name="interactive">Draw progress displays on <paramref name="error"/>.</param>
    /// <param name="stopping">Cancelled by Ctrl+C or SIGTERM: stops a run or a test series.</param>
    /// <param name="standardInput">Opens standard input for <c>--mem -</c> (default: the console's).</param>
    /// <returns>The exit code: 0 success (and the help, also when no command is given), 1 failure (bad program, failed
    /// run or test), 2 usage error, 130 interrupted.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error, IEngineSelector? engines = null, bool interactive = false, Func<Stream>? standardInput = null, CancellationToken stopping = default)
    {
        try
        {
            return RunCore(args, output, error, engines, interactive, standardInput, stopping);
        }
        catch (Exception e)
        {
            // The commands report their own errors; this is the last line of defence (a defect): still one line, never an abort.
            error.WriteLine($"ebpf: error: internal error: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    private static int RunCore(string[] args, TextWriter output, TextWriter error, IEngineSelector? engines, bool interactive, Func<Stream>? standardInput, CancellationToken stopping)
    {
        if (args.Length == 0)
        {
            args = ["--help"];
        }

        var context = new ToolContext(output, error, engines ?? ToolEngines.Create(), interactive, standardInput, stopping);
        var root = CreateRootCommand(context);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            string messages = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
            string command = parse.CommandResult.Command is RootCommand ? "ebpf" : $"ebpf {parse.CommandResult.Command.Name}";
            error.WriteLine($"ebpf: error: {messages} (see '{command} --help')");
            return UsageError;
        }

        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>The command tree.</summary>
    public static RootCommand CreateRootCommand(ToolContext context)
    {
        var root = new RootCommand(
            "ebpf: run, assemble, disassemble, verify, test and benchmark eBPF programs on the interpreter, IL and x86-64 engines.\n"
            + "As a bpf_conformance plugin: bpf_conformance_runner --plugin_path ebpf --plugin_options \"plugin [--engine NAME] [--budget N] [--timeout SECONDS]\"");
        root.Options.Add(context.Verbose);
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(AsmCommand.Create(context));
        root.Subcommands.Add(DisasmCommand.Create(context));
        root.Subcommands.Add(VerifyCommand.Create(context));
        root.Subcommands.Add(TestCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(EnginesCommand.Create(context));
        root.Subcommands.Add(DebugCommand.Create(context));
        root.Subcommands.Add(FuzzCommand.Create(context));
        root.Subcommands.Add(TestRunCommand.Create(context));
        return root;
    }
}
