using Ebpf.Analysis;

namespace Ebpf.Kernel;

/// <summary>
/// The context structures of the kernel program types as the safety analysis sees them (linux/bpf.h offsets and
/// sizes): <c>struct xdp_md</c> and <c>struct __sk_buff</c>. Their packet fields (<c>data</c>, <c>data_end</c>,
/// <c>data_meta</c>) are 32 bits wide, as C programs read them; the loads are rewritten to the 64-bit pointers of the
/// context the runs give (see <see cref="KernelProgram"/>).
/// </summary>
public static class KernelContextLayouts
{
    /// <summary>The <c>__sk_buff</c> fields Linux refuses to socket filters (declared first: the layouts below use it as they are built).</summary>
    internal static readonly string[] SocketFilterForbidden = ["tc_classid", "data", "data_end", "data_meta", "tstamp", "wire_len", "hwtstamp"];

    /// <summary><c>struct xdp_md</c>: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.</summary>
    public static ContextLayout Xdp { get; } = new("xdp_md", NativeContext.XdpUapiSize,
    [
        new ContextField("data", 0, 4, ContextFieldKind.PacketStart),
        new ContextField("data_end", 4, 4, ContextFieldKind.PacketEnd),
        new ContextField("data_meta", 8, 4, ContextFieldKind.PacketMeta),
        new ContextField("ingress_ifindex", 12, 4),
        new ContextField("rx_queue_index", 16, 4),
        new ContextField("egress_ifindex", 20, 4),
    ]);

    /// <summary>
    /// <c>struct bpf_sock</c> behind a socket pointer the program compared with 0 (the kernel's <c>sock_common</c>: what
    /// <c>__sk_buff.sk</c> gives), with Linux 6.18's rules (<c>bpf_sock_common_is_valid_access</c>, each checked with its
    /// verifier): loads only; bound_dev_if and the ports, states and addresses, but not type, protocol, mark or priority
    /// (a full socket's: <see cref="FullSocket"/>); 4-byte loads, and narrower ones at the start of family, src_port,
    /// state and rx_queue_mapping, anywhere (aligned) in the addresses, and in dst_port's own 2 bytes.
    /// </summary>
    public static ContextLayout Socket { get; } = new("bpf_sock", NativeContext.SocketSize, SocketFields(full: false));

    /// <summary>
    /// <c>struct bpf_sock</c> behind a full socket pointer (the kernel's <c>sock</c>: what <c>bpf_sk_fullsock</c> gives):
    /// as <see cref="Socket"/>, with type and protocol (narrow loads at their start) and mark and priority (4 bytes).
    /// </summary>
    public static ContextLayout FullSocket { get; } = new("bpf_sock", NativeContext.SocketSize, SocketFields(full: true));

    /// <summary>
    /// <c>struct bpf_tcp_sock</c> behind a TCP socket pointer (the kernel's <c>tcp_sock</c>: what <c>bpf_tcp_sock</c>
    /// gives once compared with 0), with Linux 6.18's rules (<c>bpf_tcp_sock_is_valid_access</c>, checked with its
    /// verifier, kern_run): loads only, whole fields only: the 4-byte counters from <c>snd_cwnd</c> (0) to
    /// <c>sacked_out</c> (76) and from <c>dsack_dups</c> (96) to <c>icsk_retransmits</c> (108), and the 8-byte
    /// <c>bytes_received</c> (80) and <c>bytes_acked</c> (88). A 4-byte load at 84 or 92 (the upper halves of the 8-byte
    /// fields) passes the kernel's access rule but fails its rewrite ("verifier bug: error during ctx access conversion",
    /// EFAULT): refused here too. The test run's socket is never a TCP socket, so no run ever reads these fields.
    /// </summary>
    public static ContextLayout TcpSocket { get; } = new("bpf_tcp_sock", TcpSocketSize, TcpSocketFields());

    /// <summary>The size of <c>struct bpf_tcp_sock</c> (Linux 6.18): up to the end of <c>icsk_retransmits</c>.</summary>
    private const int TcpSocketSize = 112;

    /// <summary>
    /// <c>struct __sk_buff</c> as a tc classifier sees it, with Linux 6.18's access rules (the load applies the same,
    /// <see cref="KernelProgram.LoadRefusals"/>): the 4-byte numeric fields (aligned narrow loads allowed, stores whole),
    /// the writable ones (mark, queue_mapping, priority, tc_index, tc_classid; tstamp, 8 bytes at a time), <c>cb</c> (20
    /// bytes, any aligned load or store of 1, 2, 4 or 8 bytes inside), <c>tstamp</c> and <c>hwtstamp</c> (8-byte loads
    /// only), <c>sk</c> (an 8-byte load only, of a pointer to the run's socket or null: once compared with 0, its fields
    /// are <see cref="Socket"/>'s), <c>tstamp_type</c> (1 byte) and the packet fields.
    /// </summary>
    public static ContextLayout SkBuff { get; } = new("__sk_buff", NativeContext.SkBuffUapiSize, SkBuffFields(socketFilter: false), Socket, FullSocket) { TcpSocket = TcpSocket };

    /// <summary>
    /// <c>struct __sk_buff</c> as a socket filter sees it: as <see cref="SkBuff"/>, but only <c>cb</c> is writable, and
    /// (as Linux refuses them to socket filters) no <c>data</c>, <c>data_end</c>, <c>data_meta</c>, <c>tc_classid</c>,
    /// <c>tstamp</c>, <c>wire_len</c>, <c>hwtstamp</c> or <c>tstamp_type</c>: socket filters read the packet with
    /// <c>bpf_skb_load_bytes</c>, and <c>KernelProgram.Load</c> refuses a program that touches them.
    /// </summary>
    public static ContextLayout SocketSkBuff { get; } = new("__sk_buff", NativeContext.SkBuffUapiSize, SkBuffFields(socketFilter: true), Socket, FullSocket) { TcpSocket = TcpSocket };

    /// <summary>
    /// The layouts of the contexts the runs give (<see cref="NativeContext"/>): the uapi structure's numeric fields at
    /// their offsets and the packet fields as the 64-bit pointers that follow it, which is what a program reads once its
    /// context loads are rewritten (<see cref="ContextRewriter"/>). The engines compile kernel programs with these, so
    /// the proof of the rewritten program is the proof of the program as written.
    /// </summary>
    private static readonly ContextLayout NativeXdp = Native(Xdp, KernelProgramType.Xdp);

    private static readonly ContextLayout NativeSkBuff = Native(SkBuff, KernelProgramType.SchedCls);

    private static readonly ContextLayout NativeSocketSkBuff = Native(SocketSkBuff, KernelProgramType.SocketFilter);

    /// <summary>The layout of <paramref name="type"/>'s context.</summary>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined <see cref="KernelProgramType"/>.</exception>
    public static ContextLayout For(KernelProgramType type) => type switch
    {
        KernelProgramType.Xdp => Xdp,
        KernelProgramType.SchedCls => SkBuff,
        KernelProgramType.SocketFilter => SocketSkBuff,
        _ => throw new EbpfTestRunException($"{(int)type} is not a kernel program type (Xdp, SchedCls, SocketFilter)"),
    };

    /// <summary>The layout of the context the runs of a <paramref name="type"/> program get, as its rewritten loads read it.</summary>
    internal static ContextLayout NativeFor(KernelProgramType type) => type switch
    {
        KernelProgramType.Xdp => NativeXdp,
        KernelProgramType.SchedCls => NativeSkBuff,
        KernelProgramType.SocketFilter => NativeSocketSkBuff,
        _ => throw new EbpfTestRunException($"{(int)type} is not a kernel program type (Xdp, SchedCls, SocketFilter)"),
    };

    /// <summary>
    /// The native layout of <paramref name="uapi"/>: the packet fields become the 64-bit pointers after the structure,
    /// and <c>tc_classid</c> takes the 16-bit stores its 32-bit ones are rewritten to (<see cref="ContextRewriter"/>).
    /// </summary>
    private static ContextLayout Native(ContextLayout uapi, KernelProgramType type) => new(
        "native " + uapi.Name,
        NativeContext.Size(type),
        uapi.Fields.Select(f => f switch
        {
            { Kind: not ContextFieldKind.Scalar } => f with { Offset = NativeContext.PointerOffset(type, f.Name), Size = 8 },
            { Name: "tc_classid" } => f with { RawBytes = true },
            _ => f,
        }),
        uapi.Socket,
        uapi.FullSocket)
    {
        TcpSocket = uapi.TcpSocket,
    };

    private static List<ContextField> SkBuffFields(bool socketFilter)
    {
        bool tc = !socketFilter;
        var fields = new List<ContextField>
        {
            Number("len", Kernel.SkBuffFields.Len),
            Number("pkt_type", Kernel.SkBuffFields.PktType),
            Number("mark", Kernel.SkBuffFields.Mark, tc),
            Number("queue_mapping", Kernel.SkBuffFields.QueueMapping, tc),
            Number("protocol", Kernel.SkBuffFields.Protocol),
            Number("vlan_present", Kernel.SkBuffFields.VlanPresent),
            Number("vlan_tci", Kernel.SkBuffFields.VlanTci),
            Number("vlan_proto", Kernel.SkBuffFields.VlanProto),
            Number("priority", Kernel.SkBuffFields.Priority, tc),
            Number("ingress_ifindex", Kernel.SkBuffFields.IngressIfindex),
            Number("ifindex", Kernel.SkBuffFields.Ifindex),
            Number("tc_index", Kernel.SkBuffFields.TcIndex, tc),
            Number("hash", Kernel.SkBuffFields.Hash),
            Number("tc_classid", Kernel.SkBuffFields.TcClassid, tc),
            new ContextField("data", Kernel.SkBuffFields.Data, 4, ContextFieldKind.PacketStart),
            new ContextField("data_end", Kernel.SkBuffFields.DataEnd, 4, ContextFieldKind.PacketEnd),
            Number("napi_id", Kernel.SkBuffFields.NapiId),
            new ContextField("tstamp", Kernel.SkBuffFields.Tstamp, 8, Writable: tc),
            Number("wire_len", Kernel.SkBuffFields.WireLen),
            Number("gso_segs", Kernel.SkBuffFields.GsoSegs),
            Number("gso_size", Kernel.SkBuffFields.GsoSize),
            new ContextField("hwtstamp", Kernel.SkBuffFields.Hwtstamp, 8),

            // A pointer to the socket, or null (every test run's socket buffer has one): an 8-byte load only, rewritten
            // to a load of the native context's pointer to the run's socket (see PacketRun.Socket).
            new ContextField("sk", Kernel.SkBuffFields.Sk, 8, ContextFieldKind.Socket),

            // cb[0..4]: 20 bytes a program may load and store in any aligned piece of 1, 2, 4 or 8 bytes
            new ContextField("cb", Kernel.SkBuffFields.Cb, 20, Writable: true, RawBytes: true),
        };
        if (socketFilter)
        {
            // Linux refuses these to socket filters (sk_filter_is_valid_access: "invalid bpf_context access")
            fields.RemoveAll(f => SocketFilterForbidden.Contains(f.Name));
        }

        if (tc)
        {
            fields.Add(new ContextField("data_meta", Kernel.SkBuffFields.DataMeta, 4, ContextFieldKind.PacketMeta));

            // Only tc programs may read it (a 1-byte load; socket filters are refused it).
            fields.Add(new ContextField("tstamp_type", Kernel.SkBuffFields.TstampType, 1));
        }

        return fields;
    }

    /// <summary>
    /// The fields of <c>struct bpf_sock</c> (linux/bpf.h) a socket pointer may load; <paramref name="full"/>: a full
    /// socket's (with type, protocol, mark, priority). The addresses are 4-byte words, any aligned part loadable.
    /// </summary>
    private static List<ContextField> SocketFields(bool full)
    {
        static ContextField AtStart(string name, int offset) => new(name, offset, 4, NarrowLoads: true, Narrow: NarrowLoadPlacement.AtStart);
        static ContextField Address(string name, int offset) => new(name, offset, 4, NarrowLoads: true);
        var fields = new List<ContextField>
        {
            new("bound_dev_if", SocketFieldOffsets.BoundDevIf, 4),
            AtStart("family", SocketFieldOffsets.Family),
            Address("src_ip4", SocketFieldOffsets.SrcIp4),
            AtStart("src_port", SocketFieldOffsets.SrcPort),
            new("dst_port", SocketFieldOffsets.DstPort, 4, NarrowLoads: true, Narrow: NarrowLoadPlacement.FirstHalf),
            Address("dst_ip4", SocketFieldOffsets.DstIp4),
            AtStart("state", SocketFieldOffsets.State),
            AtStart("rx_queue_mapping", SocketFieldOffsets.RxQueueMapping),
        };
        for (int i = 0; i < 4; i++)
        {
            fields.Add(Address($"src_ip6[{i}]", SocketFieldOffsets.SrcIp6 + (4 * i)));
            fields.Add(Address($"dst_ip6[{i}]", SocketFieldOffsets.DstIp6 + (4 * i)));
        }

        if (full)
        {
            fields.Add(AtStart("type", SocketFieldOffsets.Type));
            fields.Add(AtStart("protocol", SocketFieldOffsets.Protocol));
            fields.Add(new("mark", SocketFieldOffsets.Mark, 4));
            fields.Add(new("priority", SocketFieldOffsets.Priority, 4));
        }

        return fields;
    }

    private static List<ContextField> TcpSocketFields()
    {
        string[] first = ["snd_cwnd", "srtt_us", "rtt_min", "snd_ssthresh", "rcv_nxt", "snd_nxt", "snd_una", "mss_cache", "ecn_flags", "rate_delivered",
            "rate_interval_us", "packets_out", "retrans_out", "total_retrans", "segs_in", "data_segs_in", "segs_out", "data_segs_out", "lost_out", "sacked_out"];
        string[] last = ["dsack_dups", "delivered", "delivered_ce", "icsk_retransmits"];
        var fields = first.Select((name, i) => new ContextField(name, 4 * i, 4)).ToList();
        fields.Add(new ContextField("bytes_received", 80, 8));
        fields.Add(new ContextField("bytes_acked", 88, 8));
        fields.AddRange(last.Select((name, i) => new ContextField(name, 96 + (4 * i), 4)));
        return fields;
    }

    private static ContextField Number(string name, int offset, bool writable = false) => new(name, offset, 4, ContextFieldKind.Scalar, writable, NarrowLoads: true);
}
