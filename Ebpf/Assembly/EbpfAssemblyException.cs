namespace Ebpf.Assembly;

/// <summary>Assembly text (or a conformance <c>.data</c> file) that cannot be read: line, column and what was expected.</summary>
public sealed class EbpfAssemblyException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="line">The 1-based line number.</param>
    /// <param name="column">The 1-based column number.</param>
    /// <param name="reason">What is wrong, or what was expected.</param>
    public EbpfAssemblyException(int line, int column, string reason)
        : base($"line {line}, column {column}: {reason}")
    {
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>The 1-based line number.</summary>
    public int Line { get; }

    /// <summary>The 1-based column number.</summary>
    public int Column { get; }

    /// <summary>What is wrong, without the position.</summary>
    public string Reason { get; }
}
