namespace Ebpf.Cli;

/// <summary>A problem with what the user asked for (a missing file, a bad option value): printed as one line, no stack trace.</summary>
/// <param name="message">The one-line message.</param>
/// <param name="inner">The underlying exception, if any.</param>
/// <param name="usage">True for a usage error (an unknown engine, bad hex, a missing memory file): exit code 2, else 1.</param>
internal sealed class ToolException(string message, Exception? inner = null, bool usage = false) : Exception(message, inner)
{
    /// <summary>True when the command line itself is wrong (exit code 2).</summary>
    public bool IsUsageError { get; } = usage;
}
