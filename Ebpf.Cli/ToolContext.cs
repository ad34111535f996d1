using System.CommandLine;

namespace Ebpf.Cli;

/// <summary>What every command works with: the output and error writers and the engines.</summary>
internal sealed class ToolContext(TextWriter output, TextWriter error, IEngineSelector engines, bool interactive)
{
    /// <summary>Where results go.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Where errors and progress go.</summary>
    public TextWriter Err { get; } = error;

    /// <summary>Where interactive commands (<c>ebpf debug</c>) read their input.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>The registered engines.</summary>
    public IEngineSelector Engines { get; } = engines;

    /// <summary>True when a person watches the error stream (progress displays are drawn only then).</summary>
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
            throw new ToolException($"unknown engine '{name}' (known: {known})");
        }

        return Engines.Select(name);
    }

    private int Fail(Exception e, bool verbose)
    {
        string message = e is ToolException or EbpfException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        Err.WriteLine($"ebpf: error: {message.ReplaceLineEndings(" ")}");
        if (verbose)
        {
            Err.WriteLine(e.ToString());
        }

        return 1;
    }
}
