using Microsoft.Extensions.Logging;

namespace Ebpf.Diagnostics;

/// <summary>The log messages of the Ebpf package (source-generated, nothing allocated when disabled).</summary>
internal static partial class EbpfLog
{
    /// <summary>The category of <c>bpf_trace_printk</c> output.</summary>
    public const string TracePrintkCategory = "Ebpf.TracePrintk";

    /// <summary>The category of the engine selection.</summary>
    public const string SelectionCategory = "Ebpf.EngineSelector";

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Engine {Engine} cannot run here ({Reason}); the {Policy} policy falls back to {Chosen}")]
    public static partial void FellBack(ILogger logger, string engine, string reason, string policy, string chosen);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "bpf_trace_printk from {Program} at pc {Pc}: {Text}")]
    public static partial void TracePrintk(ILogger logger, string program, int pc, string text);
}
