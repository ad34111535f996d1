using Microsoft.Extensions.Logging;

namespace Ebpf.Diagnostics;

/// <summary>The log messages of the engines and the engine selection (source-generated, no allocation when disabled).</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Compiled {Program} ({Slots} slots) on {Engine} in {Milliseconds:0.###} ms")]
    public static partial void Compiled(ILogger logger, string program, int slots, string engine, double milliseconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Could not compile {Program} on {Engine}")]
    public static partial void CompileFailed(ILogger logger, Exception error, string program, string engine);
}
