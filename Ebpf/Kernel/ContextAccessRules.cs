namespace Ebpf.Kernel;

/// <summary>
/// Which context accesses at a constant offset from the unmodified context pointer the kernel's verifier refuses at
/// load, by program type: the rules of <c>xdp_is_valid_access</c>, <c>bpf_skb_is_valid_access</c>,
/// <c>tc_cls_act_is_valid_access</c> and <c>sk_filter_is_valid_access</c> as Linux 6.18 applies them, each checked
/// against it (<c>KernelContextAccessTests</c> records its answers). Some of them are stricter than the library's
/// layouts (narrow stores, narrow loads of <c>tstamp</c>), and every access past the uapi structure is refused here
/// although the contexts the runs give hold the library's packet pointers there. A socket filter's forbidden fields and
/// an XDP program's <c>egress_ifindex</c> have their own rules (<see cref="ContextRewriter"/>).
/// </summary>
internal static class ContextAccessRules
{
    /// <summary>The end of <c>cb[4]</c>: accesses in <c>cb</c> may have any size that stays inside it.</summary>
    private const int CbEnd = SkBuffFields.Cb + 20;

    /// <summary>The <c>family</c> .. <c>local_port</c> socket fields (tc and socket filters may not touch them).</summary>
    private const int SocketFieldsStart = 88;

    private const int SocketFieldsEnd = 140;

    /// <summary>The <c>flow_keys</c> pointer (flow dissector programs only).</summary>
    private const int FlowKeys = 144;

    /// <summary>The <c>sk</c> pointer: an 8-byte load only.</summary>
    private const int Sk = 168;

    /// <summary>
    /// Why the kernel refuses a <paramref name="size"/>-byte access (a store when <paramref name="write"/>) at
    /// <paramref name="offset"/> of a <paramref name="type"/> program's context; null when it accepts it.
    /// </summary>
    public static string? Refusal(KernelProgramType type, long offset, int size, bool write)
    {
        int uapi = type == KernelProgramType.Xdp ? NativeContext.XdpUapiSize : NativeContext.SkBuffUapiSize;
        string structure = type == KernelProgramType.Xdp ? "xdp_md" : "__sk_buff";
        if (offset < 0 || offset >= uapi)
        {
            return $"outside the {uapi}-byte struct {structure}";
        }

        if (offset % size != 0)
        {
            return "not aligned to its size";
        }

        return type == KernelProgramType.Xdp ? XdpRefusal(size, write) : SkBuffRefusal(type, (int)offset, size, write);
    }

    private static string? XdpRefusal(int size, bool write) =>
        write ? "xdp_md is read-only"
        : size != 4 ? "xdp_md fields are loaded 4 bytes at a time"
        : null;

    private static string? SkBuffRefusal(KernelProgramType type, int offset, int size, bool write)
    {
        if (offset is >= SkBuffFields.Cb and < CbEnd)
        {
            return offset + size > CbEnd ? "reaches past cb[4]" : null;
        }

        if (offset is >= SocketFieldsStart and < SocketFieldsEnd)
        {
            return "the socket fields family .. local_port are not for this program type";
        }

        if (offset is >= FlowKeys and < FlowKeys + 8)
        {
            return "flow_keys is for flow dissector programs only";
        }

        if (offset is >= Sk and < Sk + 8)
        {
            return write || offset != Sk || size != 8 ? "sk is a pointer: an 8-byte load only" : null;
        }

        if (offset is >= SkBuffFields.Tstamp and < SkBuffFields.Tstamp + 8 or >= SkBuffFields.Hwtstamp and < SkBuffFields.Hwtstamp + 8)
        {
            string name = offset >= SkBuffFields.Hwtstamp ? "hwtstamp" : "tstamp";
            return size != 8 ? $"{name} is accessed 8 bytes at a time"
                : write && !Writable(type, offset) ? $"{name} is read-only"
                : null;
        }

        bool pointer = offset is SkBuffFields.Data or SkBuffFields.DataEnd or SkBuffFields.DataMeta;
        if (write)
        {
            return pointer || !Writable(type, offset) ? "read-only"
                : size != 4 ? "stores to __sk_buff fields are 4 bytes wide"
                : null;
        }

        return pointer && size != 4 ? "a packet pointer field is loaded 4 bytes at a time"
            : size > 4 ? "wider than the 4-byte field"
            : null;
    }

    /// <summary>Whether a <paramref name="type"/> program may store to the field at <paramref name="offset"/> (socket filters: cb only).</summary>
    private static bool Writable(KernelProgramType type, int offset) =>
        KernelContextLayouts.For(type).Fields.Any(f => f.Writable && f.Offset <= offset && offset < f.Offset + f.Size);
}
