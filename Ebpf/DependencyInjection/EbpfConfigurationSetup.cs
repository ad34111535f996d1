using System.Globalization;
using Ebpf.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.DependencyInjection;

/// <summary>
/// Binds <see cref="EbpfOptions"/> from the <c>Ebpf</c> section when the container has an <see cref="IConfiguration"/>.
/// Written by hand rather than with <c>ConfigurationBinder</c> so that it needs no reflection and works the same under
/// trimming and NativeAOT. A value that does not parse, or a key that names no setting, is recorded in
/// <see cref="EbpfOptions.BindingErrors"/> and reported by the validator when the host starts.
/// </summary>
internal sealed class EbpfConfigurationSetup(IServiceProvider provider) : IConfigureOptions<EbpfOptions>
{
    public void Configure(EbpfOptions options)
    {
        var section = provider.GetService<IConfiguration>()?.GetSection(EbpfOptions.SectionName);
        if (section is null)
        {
            return;
        }

        foreach (var child in section.GetChildren())
        {
            Apply(options, child);
        }
    }

    private static void Apply(EbpfOptions options, IConfigurationSection setting)
    {
        string? value = setting.Value;
        string key = setting.Path;
        switch (setting.Key.ToUpperInvariant())
        {
            case "DEFAULTENGINE":
                options.DefaultEngine = value ?? options.DefaultEngine;
                break;
            case "INSTRUCTIONBUDGET":
                options.InstructionBudget = ParseOptional(options, key, value, "a whole number", options.InstructionBudget);
                break;
            case "TIMEOUT":
                options.Timeout = ParseOptional(options, key, value, "a time span such as 00:00:10", options.Timeout);
                break;
            case "RUNTIMELIMIT":
                options.RunTimeLimit = ParseOptional(options, key, value, "a time span such as 00:00:10", options.RunTimeLimit);
                break;
            case "MEMORYCHECKS":
                options.MemoryChecks = Parse(options, key, value, "true or false", options.MemoryChecks);
                break;
            case "HELPERARGUMENTCHECKS":
                options.HelperArgumentChecks = Parse(options, key, value, "true or false", options.HelperArgumentChecks);
                break;
            case "VERIFICATION":
                options.Verification = ParseMode(options, key, value, options.Verification);
                break;
            case "STACKSIZE":
                options.StackSize = Parse(options, key, value, "a whole number", options.StackSize);
                break;
            case "MAXCALLDEPTH":
                options.MaxCallDepth = Parse(options, key, value, "a whole number", options.MaxCallDepth);
                break;
            default:
                options.BindingErrors.Add($"{key} is not a setting of the {EbpfOptions.SectionName} section (known: {string.Join(", ", EbpfOptions.SettingNames)})");
                break;
        }
    }

    /// <summary>A <see cref="VerificationMode"/> by name (case-insensitive; numbers are not accepted); a bad one is recorded and leaves the setting as it was.</summary>
    private static VerificationMode ParseMode(EbpfOptions options, string key, string? value, VerificationMode current)
    {
        string text = value?.Trim() ?? string.Empty;
        if (text.Length > 0 && char.IsLetter(text[0]) && Enum.TryParse(text, ignoreCase: true, out VerificationMode mode) && Enum.IsDefined(mode))
        {
            return mode;
        }

        options.BindingErrors.Add($"{key} must be {string.Join(", ", Enum.GetNames<VerificationMode>())} (got '{value}')");
        return current;
    }

    /// <summary>An empty value clears the setting (no limit); otherwise the value is parsed, and a bad one is recorded and leaves the setting as it was.</summary>
    private static T? ParseOptional<T>(EbpfOptions options, string key, string? value, string expected, T? current)
        where T : struct, IParsable<T> =>
        string.IsNullOrWhiteSpace(value) ? null : TryParse(options, key, value, expected, out T parsed) ? parsed : current;

    private static T Parse<T>(EbpfOptions options, string key, string? value, string expected, T current)
        where T : IParsable<T> =>
        TryParse(options, key, value, expected, out T parsed) ? parsed : current;

    private static bool TryParse<T>(EbpfOptions options, string key, string? value, string expected, out T parsed)
        where T : IParsable<T>
    {
        if (value is not null && T.TryParse(value.Trim(), CultureInfo.InvariantCulture, out parsed!))
        {
            return true;
        }

        options.BindingErrors.Add($"{key} must be {expected} (got '{value}')");
        parsed = default!;
        return false;
    }
}
