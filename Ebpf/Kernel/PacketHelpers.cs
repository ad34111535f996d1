using Ebpf.Helpers;

namespace Ebpf.Kernel;

/// <summary>
/// The packet helpers of the kernel program types, with Linux's ids and semantics: XDP's adjust_head/tail/meta,
/// get_buff_len, load_bytes and store_bytes (over the page fragments too) and redirects, the socket-buffer helpers of tc programs (load/store bytes, checksum replacement, room and length
/// changes, VLAN push/pop, hash) and bpf_skb_load_bytes for socket filters. They work on the packet a
/// <see cref="KernelProgram"/> test run holds; called outside such a run they fail the run with a helper error.
/// </summary>
public static class PacketHelpers
{
    /// <summary><c>bpf_skb_store_bytes</c>.</summary>
    public const uint SkbStoreBytes = 9;

    /// <summary><c>bpf_skb_vlan_push</c>.</summary>
    public const uint SkbVlanPush = 18;

    /// <summary><c>bpf_skb_vlan_pop</c>.</summary>
    public const uint SkbVlanPop = 19;

    /// <summary><c>bpf_redirect</c>.</summary>
    public const uint Redirect = 23;

    /// <summary><c>bpf_skb_load_bytes</c>.</summary>
    public const uint SkbLoadBytes = 26;

    /// <summary><c>bpf_get_hash_recalc</c>.</summary>
    public const uint GetHashRecalc = 34;

    /// <summary><c>bpf_skb_change_tail</c>.</summary>
    public const uint SkbChangeTail = 38;

    /// <summary><c>bpf_skb_change_head</c>.</summary>
    public const uint SkbChangeHead = 43;

    /// <summary><c>bpf_xdp_adjust_head</c>.</summary>
    public const uint XdpAdjustHead = 44;

    /// <summary><c>bpf_skb_adjust_room</c>.</summary>
    public const uint SkbAdjustRoom = 50;

    /// <summary><c>bpf_redirect_map</c>.</summary>
    public const uint RedirectMap = 51;

    /// <summary><c>bpf_xdp_adjust_meta</c>.</summary>
    public const uint XdpAdjustMeta = 54;

    /// <summary><c>bpf_xdp_adjust_tail</c>.</summary>
    public const uint XdpAdjustTail = 65;

    /// <summary><c>bpf_xdp_get_buff_len</c>.</summary>
    public const uint XdpGetBuffLen = 188;

    /// <summary><c>bpf_xdp_load_bytes</c>.</summary>
    public const uint XdpLoadBytes = 189;

    /// <summary><c>bpf_xdp_store_bytes</c>.</summary>
    public const uint XdpStoreBytes = 190;

    internal const long EFAULT = -14;
    internal const long EINVAL = -22;
    internal const long EACCES = -13;
    internal const long ENOMEM = -12;
    internal const long ENOTSUPP = -524;

    /// <summary>
    /// Registers the packet helpers a program of <paramref name="type"/> may call in <paramref name="table"/>
    /// (replacing helpers with the same ids), and removes the Linux checksum helpers an XDP program may not call
    /// (<c>bpf_l3_csum_replace</c>, <c>bpf_l4_csum_replace</c>: the kernel offers them to socket buffers only).
    /// </summary>
    /// <returns>The table, for chaining.</returns>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined <see cref="KernelProgramType"/>.</exception>
    public static HelperTable Register(HelperTable table, KernelProgramType type)
    {
        ArgumentNullException.ThrowIfNull(table);
        switch (type)
        {
            case KernelProgramType.Xdp:
                table.Remove(LinuxHelperIds.L3CsumReplace);
                table.Remove(LinuxHelperIds.L4CsumReplace);
                XdpHelpers.Register(table);
                break;
            case KernelProgramType.SchedCls:
                SkbHelpers.Register(table);
                SkbShapeHelpers.Register(table);
                SocketHelpers.Register(table);
                break;
            case KernelProgramType.SocketFilter:
                table.Remove(LinuxHelperIds.L3CsumReplace);
                table.Remove(LinuxHelperIds.L4CsumReplace);
                table.Set(SkbHelpers.LoadBytes);
                table.Set(SocketHelpers.SocketUid);
                break;
            default:
                throw new EbpfTestRunException($"{(int)type} is not a kernel program type (Xdp, SchedCls, SocketFilter)");
        }

        return table;
    }

    /// <summary>The packet run of this thread, after checking that <paramref name="context"/> is its context.</summary>
    /// <exception cref="InvalidOperationException">No packet run is in progress or r1 is not its context (the run fails with a helper error).</exception>
    internal static PacketRun RunOf(ulong context, string helper)
    {
        var run = CurrentRun(helper);
        if (context != run.ContextAddress)
        {
            throw new InvalidOperationException($"{helper}: r1 = 0x{context:x} is not the program's context (0x{run.ContextAddress:x})");
        }

        return run;
    }

    /// <summary>The packet run of this thread.</summary>
    /// <exception cref="InvalidOperationException">No packet run is in progress (the run fails with a helper error).</exception>
    internal static PacketRun CurrentRun(string helper) =>
        PacketRun.Current ?? throw new InvalidOperationException($"{helper} works on the packet of a test run (KernelProgram.TestRun); this run has none");

    /// <summary>The signature of a helper that may move or resize the packet (the analysis forgets packet pointers after it).</summary>
    internal static HelperSignature Moving(params HelperArgumentKind[] arguments) => HelperSignature.Of(arguments) with { ChangesPacketData = true };

    /// <summary>A Linux error number as a helper's 64-bit return value.</summary>
    internal static ulong Error(long errno) => unchecked((ulong)errno);
}
