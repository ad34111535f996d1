using System.Globalization;

namespace Ebpf.Cli.Loading;

/// <summary>Reads bytes written in hex on the command line.</summary>
internal static class HexBytes
{
    /// <summary>
    /// Parses hex bytes, either separated by spaces, commas or colons (<c>"00 01 ff"</c>) or as one run of digits
    /// (<c>"0001ff"</c>, optionally with a <c>0x</c> prefix).
    /// </summary>
    /// <exception cref="ToolException">A token that is not hex, or an odd number of digits.</exception>
    public static byte[] Parse(string text, string what)
    {
        var bytes = new List<byte>();
        var tokens = text.Split([' ', '\t', '\r', '\n', ',', ':'], StringSplitOptions.RemoveEmptyEntries);
        foreach (var raw in tokens)
        {
            var token = raw.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? raw[2..] : raw;
            if (token.Length == 0 || token.Length % 2 != 0)
            {
                throw new ToolException($"{what}: '{raw}' is not hex bytes (expected pairs of hex digits such as '0a 1b' or '0a1b')", usage: true);
            }

            for (int i = 0; i < token.Length; i += 2)
            {
                if (!byte.TryParse(token.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    throw new ToolException($"{what}: '{raw}' is not hex bytes ('{token.Substring(i, 2)}' is not a hex byte)", usage: true);
                }

                bytes.Add(b);
            }
        }

        return bytes.ToArray();
    }
}
