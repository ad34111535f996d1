namespace Ebpf.Cli;

/// <summary>A problem with what the user asked for (a missing file, a bad option value): printed as one line, no stack trace.</summary>
internal sealed class ToolException(string message, Exception? inner = null) : Exception(message, inner);
