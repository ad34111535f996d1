using System.CommandLine;
using Ebpf.Verification;

namespace Ebpf.Cli.Commands;

/// <summary>The options that shape a run: <c>--budget</c>, <c>--no-checks</c>, <c>--strict</c>/<c>--structural</c> and (for run and test) <c>--timeout</c>.</summary>
/// <param name="withTimeout">Whether the command takes <c>--timeout</c> (bench does not: a timer per run would be measured).</param>
internal sealed class EngineOptions(bool withTimeout = true)
{
    /// <summary>The default of <c>--timeout</c>, in seconds.</summary>
    public const double DefaultTimeoutSeconds = 10;

    /// <summary><c>--timeout SECONDS</c>.</summary>
    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Stop a run that takes longer than SECONDS (0 = no limit). Default: 10",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
        CustomParser = ParseTimeout,
    };

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

    /// <summary><c>--strict</c>.</summary>
    public Option<bool> Strict { get; } = new("--strict")
    {
        Description = "Refuse the program unless the verifier proves every memory access (kernel-like). Default: hybrid (refuse definite errors only)",
    };

    /// <summary><c>--structural</c>.</summary>
    public Option<bool> Structural { get; } = new("--structural")
    {
        Description = "Demand no proof: run a program the verifier finds errors in (the run-time checks still stop bad accesses)",
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Budget);
        command.Options.Add(NoChecks);
        command.Options.Add(Strict);
        command.Options.Add(Structural);
        command.Validators.Add(result =>
        {
            if (result.GetValue(Strict) && result.GetValue(Structural))
            {
                result.AddError("--strict and --structural cannot be combined");
            }
        });
        if (withTimeout)
        {
            command.Options.Add(Timeout);
        }
    }

    /// <summary>
    /// The execution options the command line asks for. With <c>--timeout</c>, the flag alone limits the run (a precise
    /// per-run timer; <c>0</c> = none), so the library's <see cref="ExecutionOptions.RunTimeLimit"/> is off; bench keeps
    /// that default watchdog limit, which costs nothing per run.
    /// </summary>
    public ExecutionOptions Read(ParseResult parse) => new()
    {
        InstructionBudget = parse.GetValue(Budget),
        MemoryChecks = !parse.GetValue(NoChecks),
        Verification = parse.GetValue(Strict) ? VerificationMode.Strict : parse.GetValue(Structural) ? VerificationMode.Structural : VerificationMode.Hybrid,
        Timeout = withTimeout && parse.GetValue(Timeout) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
        RunTimeLimit = withTimeout ? null : ExecutionOptions.DefaultRunTimeLimit,
    };

    private static double ParseTimeout(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = string.Join(' ', result.Tokens.Select(t => t.Value));
        if (double.TryParse(text, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out double seconds)
            && seconds <= ExecutionOptions.MaxTimeout.TotalSeconds)
        {
            return seconds;
        }

        result.AddError($"--timeout must be a number of seconds from 0 (no limit) to {(long)ExecutionOptions.MaxTimeout.TotalSeconds} (got '{text}')");
        return 0;
    }
}
