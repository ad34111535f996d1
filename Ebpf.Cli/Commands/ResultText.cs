using System.Globalization;

namespace Ebpf.Cli.Commands;

/// <summary>How results are printed.</summary>
internal static class ResultText
{
    /// <summary>r0 in hex and decimal, e.g. <c>0x2a (42)</c>, with the signed value too when it is negative as a signed number.</summary>
    public static string Format(ulong value) =>
        (long)value < 0
            ? string.Create(CultureInfo.InvariantCulture, $"0x{value:x} ({value}, signed {(long)value})")
            : string.Create(CultureInfo.InvariantCulture, $"0x{value:x} ({value})");
}
