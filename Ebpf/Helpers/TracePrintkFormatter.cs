using System.Globalization;
using System.Text;

namespace Ebpf.Helpers;

/// <summary>
/// Formats a <c>bpf_trace_printk</c> format string with up to three arguments, as Linux accepts it: flags
/// <c>-</c>, <c>0</c>, <c>+</c>, space, <c>#</c>; a width; length modifiers <c>h</c>, <c>hh</c>, <c>l</c>,
/// <c>ll</c>, <c>z</c>; conversions <c>d i u x X o c p s %</c>.
/// </summary>
internal static class TracePrintkFormatter
{
    /// <summary>The most arguments a format may use.</summary>
    public const int MaxArguments = 3;

    /// <summary>Formats; null when the format is invalid (unknown conversion, too many arguments).</summary>
    /// <param name="format">The format (without its NUL).</param>
    /// <param name="arguments">The three raw arguments.</param>
    /// <param name="readString">Reads the NUL-terminated string at an address (for <c>%s</c>).</param>
    public static string? Format(ReadOnlySpan<byte> format, ReadOnlySpan<ulong> arguments, Func<ulong, string> readString)
    {
        var text = new StringBuilder();
        int used = 0;
        for (int i = 0; i < format.Length; i++)
        {
            byte c = format[i];
            if (c != (byte)'%')
            {
                text.Append((char)c);
                continue;
            }

            if (++i >= format.Length)
            {
                return null;
            }

            bool left = false, zero = false, plus = false, space = false, alternate = false;
            for (; i < format.Length && "-0+ #".Contains((char)format[i]); i++)
            {
                switch ((char)format[i])
                {
                    case '-': left = true; break;
                    case '0': zero = true; break;
                    case '+': plus = true; break;
                    case ' ': space = true; break;
                    default: alternate = true; break;
                }
            }

            int width = 0;
            for (; i < format.Length && format[i] is >= (byte)'0' and <= (byte)'9'; i++)
            {
                width = Math.Min(width * 10 + (format[i] - '0'), 64);
            }

            int bits = 32;
            if (i < format.Length && format[i] == (byte)'h')
            {
                bits = 16;
                if (++i < format.Length && format[i] == (byte)'h')
                {
                    bits = 8;
                    i++;
                }
            }
            else if (i < format.Length && format[i] is (byte)'l' or (byte)'z')
            {
                bits = 64;
                if (format[i] == (byte)'l' && i + 1 < format.Length && format[i + 1] == (byte)'l')
                {
                    i++;
                }

                i++;
            }

            if (i >= format.Length)
            {
                return null;
            }

            char conversion = (char)format[i];
            if (conversion == '%')
            {
                text.Append('%');
                continue;
            }

            if (used == MaxArguments)
            {
                return null;
            }

            ulong raw = arguments[used++];
            ulong value = bits == 64 ? raw : raw & ((1ul << bits) - 1);
            string body;
            switch (conversion)
            {
                case 'd':
                case 'i':
                    long signed = bits switch { 8 => (sbyte)value, 16 => (short)value, 32 => (int)value, _ => (long)value };
                    body = signed.ToString(CultureInfo.InvariantCulture);
                    if (signed >= 0 && (plus || space))
                    {
                        body = (plus ? "+" : " ") + body;
                    }

                    break;
                case 'u':
                    body = value.ToString(CultureInfo.InvariantCulture);
                    break;
                case 'x':
                case 'X':
                    body = value.ToString(conversion == 'x' ? "x" : "X", CultureInfo.InvariantCulture);
                    if (alternate && value != 0)
                    {
                        body = (conversion == 'x' ? "0x" : "0X") + body;
                    }

                    break;
                case 'o':
                    body = Convert.ToString((long)value, 8);
                    break;
                case 'c':
                    body = ((char)(byte)raw).ToString();
                    break;
                case 'p':
                    body = "0x" + raw.ToString("x", CultureInfo.InvariantCulture);
                    break;
                case 's':
                    body = readString(raw);
                    zero = false;
                    break;
                default:
                    return null;
            }

            if (body.Length < width)
            {
                body = left ? body.PadRight(width) : zero ? PadZero(body, width) : body.PadLeft(width);
            }

            text.Append(body);
        }

        return text.ToString();
    }

    private static string PadZero(string body, int width)
    {
        int sign = body.Length > 0 && body[0] is '-' or '+' or ' ' ? 1 : 0;
        return body[..sign] + body[sign..].PadLeft(width - sign, '0');
    }
}
