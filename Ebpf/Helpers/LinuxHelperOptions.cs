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

    /// <summary>
    /// The run's CPU: what <c>bpf_get_smp_processor_id</c> returns, and whose value of a per-CPU map a program's
    /// <c>bpf_map_lookup_elem</c>/<c>bpf_map_update_elem</c> see. Null (the default) is CPU 0, so that runs are
    /// reproducible. It must be below the maps' number of possible CPUs (<see cref="Maps.MapDefinition.PossibleCpus"/>):
    /// on a CPU a per-CPU map does not have, lookups return NULL and updates <c>-EINVAL</c>.
    /// </summary>
    public uint? ProcessorId { get; init; }
}
