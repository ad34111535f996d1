namespace Ebpf.Kernel;

/// <summary>What a test run gives the program besides the packet: the context fields a kernel test run fills, and how often to run.</summary>
public sealed record TestRunOptions
{
    /// <summary>The default options (one run, context as the kernel's test run on the loopback device fills it).</summary>
    public static TestRunOptions Default { get; } = new();

    /// <summary>How many times the program runs on the packet (the kernel's <c>repeat</c>): state carries over between runs, as in the kernel; the result is the last run's. At least 1.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>Socket buffers: <c>__sk_buff.mark</c> (the kernel oracle's <c>--skb-mark</c>). Default 0.</summary>
    public uint SkbMark { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.priority</c>. Default 0.</summary>
    public uint SkbPriority { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ingress_ifindex</c>. Default 0, as in the kernel's test run.</summary>
    public uint SkbIngressIfindex { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ifindex</c>, the device the packet is on. Default 1 (the loopback device the kernel's test run uses).</summary>
    public uint Ifindex { get; init; } = 1;

    /// <summary>XDP: <c>xdp_md.ingress_ifindex</c>. Default 1 (the loopback device the kernel's test run uses).</summary>
    public uint IngressIfindex { get; init; } = 1;

    /// <summary>XDP: <c>xdp_md.rx_queue_index</c>. Default 0.</summary>
    public uint RxQueueIndex { get; init; }
}
