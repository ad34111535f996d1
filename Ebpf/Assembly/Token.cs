namespace Ebpf.Assembly;

/// <summary>One token of a line of assembly text.</summary>
/// <param name="Kind">What the token is.</param>
/// <param name="Text">The token's text as written.</param>
/// <param name="Column">The 1-based column where it starts.</param>
/// <param name="Value">The value of a <see cref="TokenKind.Number"/> token.</param>
/// <param name="IsHex">True for a number written in hex.</param>
internal readonly record struct Token(TokenKind Kind, string Text, int Column, ulong Value = 0, bool IsHex = false)
{
    /// <summary>The column just after the token.</summary>
    public int EndColumn => Column + Text.Length;
}
