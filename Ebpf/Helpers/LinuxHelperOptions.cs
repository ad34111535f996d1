using Microsoft.Extensions.Logging;

namespace Ebpf.Helpers;

/// <summary>Settings of the Linux-compatible helpers (<see cref="LinuxHelpers"/>).</summary>
public sealed record LinuxHelperOptions
{
    /// <summary>Where <c>bpf_trace_printk</c> writes; null discards the output (the helper still formats and returns its length).</summary>
    public TextWriter? TraceOutput { get; init; }

    /// <summary>
    /// Where <c>bpf_trace_printk</c> also logs each message (level Information, with the program and pc), or null.
    /// <c>services.AddEbpf()</c> registers a <see cref="LinuxHelperOptions"/> whose logger is the category
    /// <c>Ebpf.TracePrintk</c> of the container's logger factory.
    /// </summary>
    public ILogger? TraceLogger { get; init; }

    /// <summary>The seed of <c>bpf_get_prandom_u32</c>, for reproducible runs; null uses a shared, unseeded generator.</summary>
    public int? RandomSeed { get; init; }

    /// <summary>The clock of <c>bpf_ktime_get_ns</c> in nanoseconds; null uses a monotonic clock.</summary>
    public Func<ulong>? Clock { get; init; }

    /// <summary>What <c>bpf_get_smp_processor_id</c> returns; null returns the processor the calling thread runs on.</summary>
    public uint? ProcessorId { get; init; }
}
