using System.CommandLine;

namespace Ebpf.Cli;

/// <summary>What every command works with: the output and error writers, the engines and the token that Ctrl+C or
/// SIGTERM cancels.</summary>
internal sealed class ToolContext(TextWriter output, TextWriter error, IEngineSelector engines, bool interactive, Func<Stream>? standardInput = null, CancellationToken stopping = default)
{
    /// <summary>Opens standard input (for <c>--mem -</c>).</summary>
    public Func<Stream> StandardInput { get; } = standardInput ?? Console.OpenStandardInput;

    /// <summary>The values <c>--engine</c> accepts, for shell completion: the engines and the policies.</summary>
    public string[] EngineChoices() =>
        [.. Engines.Engines.Select(e => e.Name), EngineSelector.AutoName, EngineSelector.FastestName, EngineSelector.SafestName];

    /// <summary>The exit code after Ctrl+C or SIGTERM stopped a command (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>Cancelled when the user interrupts the tool (Ctrl+C, SIGTERM); every run is given it.</summary>
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>Where results go.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Where errors and progress go.</summary>
    public TextWriter Err { get; } = error;

    /// <summary>The registered engines.</summary>
    public IEngineSelector Engines { get; } = engines;

    /// <summary>True when a person watches: standard output and standard error are terminals (progress displays are drawn only then).</summary>
    public bool Interactive { get; } = interactive;

    /// <summary><c>--verbose</c>: stack traces with errors (on every command).</summary>
    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Show the stack trace with an error",
        Recursive = true,
    };

    /// <summary>Sets the action of <paramref name="command"/>: runs <paramref name="body"/> and turns any exception into one error line and exit code 1.</summary>
    public void SetAction(Command command, Func<ParseResult, int> body)
    {
        command.SetAction(parse =>
        {
            try
            {
                return body(parse);
            }
            catch (Exception e)
            {
                return Fail(e, parse.GetValue(Verbose));
            }
        });
    }

    /// <summary>The engine named <paramref name="name"/> (or a policy), or the default engine when null.</summary>
    /// <exception cref="ToolException">No engine or policy has that name.</exception>
    /// <exception cref="EbpfEngineUnavailableException">The engine cannot run here.</exception>
    public IExecutionEngine SelectEngine(string? name)
    {
        if (name is null)
        {
            return Engines.Default;
        }

        if (!Engines.TryGet(name, out _) && !EngineSelector.TryParsePolicy(name, out _))
        {
            string known = string.Join(", ", Engines.Engines.Select(e => e.Name).Append(EngineSelector.AutoName).Append(EngineSelector.FastestName).Append(EngineSelector.SafestName));
            throw new ToolException($"unknown engine '{name}' (known: {known})", usage: true);
        }

        return Engines.Select(name);
    }

    private int Fail(Exception e, bool verbose)
    {
        if (e is EbpfRunCancelledException { Kind: RuntimeErrorKind.Cancelled } || (e is OperationCanceledException && Stopping.IsCancellationRequested))
        {
            Err.WriteLine("ebpf: interrupted");
            return Interrupted;
        }

        string message = e is ToolException or EbpfException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        if (e is EbpfRunCancelledException { Kind: RuntimeErrorKind.TimedOut })
        {
            message += " (set a longer limit with --timeout SECONDS, or 0 for none)";
        }

        Err.WriteLine($"ebpf: error: {message.ReplaceLineEndings(" ")}");
        if (verbose)
        {
            Err.WriteLine(e.ToString());
        }

        return e is ToolException { IsUsageError: true } ? EbpfTool.UsageError : 1;
    }
}
