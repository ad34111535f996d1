using System.CommandLine;

namespace Ebpf.Cli.Commands;

/// <summary>The options that shape a run: <c>--budget</c> and <c>--no-checks</c>.</summary>
internal sealed class EngineOptions
{
    /// <summary><c>--budget N</c>.</summary>
    public Option<long?> Budget { get; } = new("--budget")
    {
        Description = "Stop a run after N instructions (JIT engines count per basic block)",
        HelpName = "N",
        CustomParser = PositiveNumber.Int64("--budget", "instructions"),
    };

    /// <summary><c>--no-checks</c>.</summary>
    public Option<bool> NoChecks { get; } = new("--no-checks")
    {
        Description = "Turn memory checks off in the JIT engines (trusted programs only; the interpreter always checks)",
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Budget);
        command.Options.Add(NoChecks);
    }

    /// <summary>The execution options the command line asks for.</summary>
    public ExecutionOptions Read(ParseResult parse) => new()
    {
        InstructionBudget = parse.GetValue(Budget),
        MemoryChecks = !parse.GetValue(NoChecks),
    };
}
