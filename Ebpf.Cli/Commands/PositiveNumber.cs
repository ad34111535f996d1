using System.CommandLine.Parsing;
using System.Globalization;

namespace Ebpf.Cli.Commands;

/// <summary>Parsers for options that take a positive whole number.</summary>
internal static class PositiveNumber
{
    /// <summary>A parser for <c>long?</c> options: a positive number, else a parse error naming <paramref name="option"/>.</summary>
    public static Func<ArgumentResult, long?> Int64(string option, string what) => result => (long?)Parse(result, option, what, long.MaxValue);

    /// <summary>A parser for <c>int</c> options: a positive number, else a parse error naming <paramref name="option"/>.</summary>
    public static Func<ArgumentResult, int> Int32(string option, string what) => result => (int)Parse(result, option, what, int.MaxValue);

    private static long Parse(ArgumentResult result, string option, string what, long max)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
        if (long.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out long value) && value > 0 && value <= max)
        {
            return value;
        }

        result.AddError($"{option} must be a positive number of {what} (got '{text}')");
        return 0;
    }
}
