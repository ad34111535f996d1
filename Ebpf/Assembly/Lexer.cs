using System.Buffers;
using System.Globalization;

namespace Ebpf.Assembly;

/// <summary>Splits one line of assembly text into tokens; comments start with <c>#</c>, <c>;</c> or <c>//</c>.</summary>
internal static class Lexer
{
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    public static List<Token> Tokenize(string line, int lineNumber)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c is '#' or ';' || (c == '/' && i + 1 < line.Length && line[i + 1] == '/'))
            {
                break;
            }

            int start = i;
            if (IsNameStart(c))
            {
                while (i < line.Length && IsNamePart(line[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, line[start..i], start + 1));
                continue;
            }

            if (c == '%')
            {
                i++;
                while (i < line.Length && IsNamePart(line[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.PercentRegister, line[start..i], start + 1));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_'))
                {
                    i++;
                }

                tokens.Add(ReadNumber(line[start..i], start + 1, lineNumber));
                continue;
            }

            TokenKind? kind = c switch
            {
                ',' => TokenKind.Comma,
                '[' => TokenKind.OpenBracket,
                ']' => TokenKind.CloseBracket,
                '+' => TokenKind.Plus,
                '-' => TokenKind.Minus,
                ':' => TokenKind.Colon,
                _ => null,
            };
            if (kind is null)
            {
                throw new EbpfAssemblyException(lineNumber, start + 1, $"unexpected character '{c}'");
            }

            tokens.Add(new Token(kind.Value, c.ToString(), start + 1));
            i++;
        }

        return tokens;
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c is '_' or '.' or '$';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$';

    private static Token ReadNumber(string text, int column, int lineNumber)
    {
        bool hex = text.Length > 2 && text[0] == '0' && (text[1] is 'x' or 'X');
        bool ok = hex
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            bool digitsOnly = hex
                ? text.AsSpan(2).ContainsAnyExcept(HexDigits) is false
                : text.AsSpan().ContainsAnyExceptInRange('0', '9') is false;
            string reason = digitsOnly
                ? $"the number '{text}' is too large (at most 64 bits)"
                : $"'{text}' is not a number (expected decimal digits or 0x followed by hex digits)";
            throw new EbpfAssemblyException(lineNumber, column, reason);
        }

        return new Token(TokenKind.Number, text, column, value, hex);
    }
}
