namespace Ebpf.Assembly;

/// <summary>The kinds of token the assembler's lexer produces.</summary>
internal enum TokenKind
{
    /// <summary>A name: a mnemonic, a label, a keyword, or a register written without <c>%</c> (<c>r1</c>).</summary>
    Identifier,

    /// <summary>A register written with <c>%</c> (<c>%r1</c>).</summary>
    PercentRegister,

    /// <summary>An unsigned decimal or <c>0x</c> hex number (a sign is a separate token).</summary>
    Number,

    /// <summary><c>,</c></summary>
    Comma,

    /// <summary><c>[</c></summary>
    OpenBracket,

    /// <summary><c>]</c></summary>
    CloseBracket,

    /// <summary><c>+</c></summary>
    Plus,

    /// <summary><c>-</c></summary>
    Minus,

    /// <summary><c>:</c></summary>
    Colon,
}
