using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static System.FormattableString;

namespace Ebpf.DependencyInjection;

/// <summary>Checks <see cref="EbpfOptions"/>: ranges, and a default engine that is registered and available here.</summary>
internal sealed class EbpfOptionsValidator(IServiceProvider provider, EngineRegistry registry) : IValidateOptions<EbpfOptions>
{
    public ValidateOptionsResult Validate(string? name, EbpfOptions options)
    {
        var failures = new List<string>(options.BindingErrors);
        string prefix = EbpfOptions.SectionName + ":";
        if (options.StackSize < 8 || options.StackSize > 65536 || options.StackSize % 8 != 0)
        {
            failures.Add(Invariant($"{prefix}{nameof(EbpfOptions.StackSize)} must be a multiple of 8 from 8 to 65536 (got {options.StackSize})"));
        }

        if (options.MaxCallDepth < 1 || options.MaxCallDepth > 64)
        {
            failures.Add(Invariant($"{prefix}{nameof(EbpfOptions.MaxCallDepth)} must be from 1 to 64 (got {options.MaxCallDepth})"));
        }

        if (options.InstructionBudget is <= 0)
        {
            failures.Add(Invariant($"{prefix}{nameof(EbpfOptions.InstructionBudget)} must be positive, or absent for no limit (got {options.InstructionBudget})"));
        }

        if (options.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > ExecutionOptions.MaxTimeout))
        {
            failures.Add($"{prefix}{nameof(EbpfOptions.Timeout)} must be positive and at most {ExecutionOptions.MaxTimeout}, or absent for no limit (got {timeout})");
        }

        if (options.RunTimeLimit is { } limit && limit != Timeout.InfiniteTimeSpan && (limit <= TimeSpan.Zero || limit > ExecutionOptions.MaxTimeout))
        {
            failures.Add($"{prefix}{nameof(EbpfOptions.RunTimeLimit)} must be positive and at most {ExecutionOptions.MaxTimeout}, or empty or {Timeout.InfiniteTimeSpan} for no limit (got {limit})");
        }

        if (!Enum.IsDefined(options.Verification))
        {
            failures.Add(Invariant($"{prefix}{nameof(EbpfOptions.Verification)} must be {string.Join(", ", Enum.GetNames<Ebpf.Verification.VerificationMode>())} (got {(int)options.Verification})"));
        }

        var names = registry.Names;
        if (names.Count == 0)
        {
            failures.Add("no engine is registered: add one to AddEbpf() with AddInterpreter(), AddIl(), AddX64() or AddEngine(name, factory)");
        }

        string known = string.Join(", ", names.Append(EngineSelector.SafestName).Append(EngineSelector.FastestName).Append(EngineSelector.AutoName));
        if (string.IsNullOrWhiteSpace(options.DefaultEngine))
        {
            failures.Add($"{prefix}{nameof(EbpfOptions.DefaultEngine)} must name an engine or a policy ({known})");
        }
        else if (names.FirstOrDefault(n => string.Equals(n, options.DefaultEngine, StringComparison.OrdinalIgnoreCase)) is { } engineName)
        {
            var engine = provider.GetRequiredKeyedService<IExecutionEngine>(engineName);
            if (!engine.IsAvailable)
            {
                failures.Add($"{prefix}{nameof(EbpfOptions.DefaultEngine)} is '{engineName}', which is not available here: {engine.UnavailableReason ?? "unavailable"} (use 'fastest' to fall back automatically)");
            }
        }
        else if (!EngineSelector.TryParsePolicy(options.DefaultEngine, out _))
        {
            failures.Add($"{prefix}{nameof(EbpfOptions.DefaultEngine)} is '{options.DefaultEngine}', which is not a registered engine or a policy (known: {known})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
