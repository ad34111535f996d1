using Ebpf.Helpers;
using Ebpf.Maps;

namespace Ebpf.Kernel;

/// <summary>The XDP packet helpers: moving the packet's head, tail and metadata edges, reading and writing the whole frame (fragments included), and redirects.</summary>
internal static class XdpHelpers
{
    private const ulong Aborted = 0, Redirected = 4;
    private const int MaxMeta = 252;

    public static void Register(HelperTable table)
    {
        var context = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar);
        table.Set(new Helper(PacketHelpers.XdpAdjustHead, "bpf_xdp_adjust_head", (_, ctx, delta, _, _, _) => AdjustHead(ctx, (int)delta)) { Signature = context });
        table.Set(new Helper(PacketHelpers.XdpAdjustTail, "bpf_xdp_adjust_tail", (_, ctx, delta, _, _, _) => AdjustTail(ctx, (int)delta)) { Signature = context });
        table.Set(new Helper(PacketHelpers.XdpAdjustMeta, "bpf_xdp_adjust_meta", (_, ctx, delta, _, _, _) => AdjustMeta(ctx, (int)delta)) { Signature = context });
        table.Set(new Helper(PacketHelpers.XdpGetBuffLen, "bpf_xdp_get_buff_len", (_, ctx, _, _, _, _) => (ulong)PacketHelpers.RunOf(ctx, "bpf_xdp_get_buff_len").FrameLength)
        {
            Signature = HelperSignature.Of(HelperArgumentKind.Context),
        });
        table.Set(new Helper(PacketHelpers.XdpLoadBytes, "bpf_xdp_load_bytes", (h, ctx, offset, to, length, _) => CopyFrame(h, ctx, offset, to, length, write: false, "bpf_xdp_load_bytes"))
        {
            Signature = HelperSignature.Of(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.WritableMemory, HelperArgumentKind.MemorySize),
        });
        // Storing bytes moves no edge of the packet: Linux 6.18's verifier keeps packet pointers across the call.
        table.Set(new Helper(PacketHelpers.XdpStoreBytes, "bpf_xdp_store_bytes", (h, ctx, offset, from, length, _) => CopyFrame(h, ctx, offset, from, length, write: true, "bpf_xdp_store_bytes"))
        {
            Signature = HelperSignature.Of(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize),
        });
        table.Set(new Helper(PacketHelpers.Redirect, "bpf_redirect", (_, ifindex, flags, _, _, _) => RedirectTo(ifindex, flags)) { Signature = HelperSignature.Numbers(2) });
        table.Set(new Helper(PacketHelpers.RedirectMap, "bpf_redirect_map", RedirectMap) { Signature = HelperSignature.Of(HelperArgumentKind.MapPointer, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
    }

    /// <summary>Linux <c>bpf_xdp_adjust_head</c>: moves <c>data</c> (and the metadata with it) by <paramref name="delta"/>, keeping an Ethernet header and the frame header.</summary>
    private static ulong AdjustHead(ulong context, int delta)
    {
        var run = PacketHelpers.RunOf(context, "bpf_xdp_adjust_head");
        int metaLength = run.Data - run.Meta;
        long data = (long)run.Data + delta;
        if (data < PacketRun.XdpFrameHeaderSize + metaLength || data > run.DataEnd - PacketRun.EthernetHeader)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        if (metaLength != 0)
        {
            run.Buffer.Slice(run.Meta, metaLength).CopyTo(run.Buffer[(run.Meta + delta)..]);
        }

        run.Meta += delta;
        run.MoveData((int)data);
        run.Sync();
        return 0;
    }

    /// <summary>
    /// Linux <c>bpf_xdp_adjust_tail</c>: moves <c>data_end</c>; growth (zeroed) stops before the shared info, shrinking
    /// keeps an Ethernet header. A frame with fragments changes at its last fragments instead (see
    /// <see cref="PacketRun.AdjustFragmentedTail"/>).
    /// </summary>
    private static ulong AdjustTail(ulong context, int delta)
    {
        var run = PacketHelpers.RunOf(context, "bpf_xdp_adjust_tail");
        if (run.FragmentCount != 0)
        {
            if (!run.AdjustFragmentedTail(delta))
            {
                return PacketHelpers.Error(PacketHelpers.EINVAL);
            }

            run.Sync();
            return 0;
        }

        long end = (long)run.DataEnd + delta;
        if (end > PacketRun.XdpFrameSize - PacketRun.SharedInfoSize || end < run.Data + PacketRun.EthernetHeader)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        if (delta > 0)
        {
            run.Buffer.Slice(run.DataEnd, delta).Clear();
        }

        run.DataEnd = (int)end;
        run.Sync();
        return 0;
    }

    /// <summary>Linux <c>bpf_xdp_adjust_meta</c>: moves <c>data_meta</c>; the metadata stays after the frame header, a multiple of 4 bytes, at most 252 (Linux 6.18 takes 36, older kernels stopped at 32).</summary>
    private static ulong AdjustMeta(ulong context, int delta)
    {
        var run = PacketHelpers.RunOf(context, "bpf_xdp_adjust_meta");
        long meta = (long)run.Meta + delta;
        if (meta < PacketRun.XdpFrameHeaderSize || meta > run.Data)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        long length = run.Data - meta;
        if ((length & 3) != 0 || length > MaxMeta)
        {
            return PacketHelpers.Error(PacketHelpers.EACCES);
        }

        run.Meta = (int)meta;
        run.Sync();
        return 0;
    }

    /// <summary>
    /// Linux <c>bpf_xdp_load_bytes</c> and <c>bpf_xdp_store_bytes</c>: copy between the program's memory and the frame
    /// from <c>data</c> on, across the linear part and the page fragments. An offset or length above 0xffff gives
    /// -EFAULT, a range past the frame -EINVAL; either way the program's memory and the frame stay as they were (checked
    /// on Linux 6.18).
    /// </summary>
    private static ulong CopyFrame(HelperContext ctx, ulong context, ulong offset, ulong address, ulong length, bool write, string helper)
    {
        const uint limit = 0xffff;
        var run = PacketHelpers.RunOf(context, helper);
        var memory = ctx.GetMemory(address, (uint)length, write ? MemoryAccessKind.Read : MemoryAccessKind.Write);
        if ((uint)offset > limit || (uint)length > limit)
        {
            return PacketHelpers.Error(PacketHelpers.EFAULT);
        }

        if ((uint)offset + (uint)length > (uint)run.FrameLength)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        run.CopyFrame((int)(uint)offset, memory, write);
        return 0;
    }

    /// <summary>Linux <c>bpf_redirect</c> for XDP: any flag aborts; otherwise the target is recorded and the verdict is XDP_REDIRECT.</summary>
    private static ulong RedirectTo(ulong ifindex, ulong flags)
    {
        var run = PacketHelpers.CurrentRun("bpf_redirect");
        if (flags != 0)
        {
            return Aborted;
        }

        run.Redirect = new PacketRedirect((uint)ifindex, flags);
        return Redirected;
    }

    /// <summary>
    /// Linux <c>bpf_redirect_map</c>: XDP_REDIRECT with the target recorded when the map (a device, CPU or socket map,
    /// <see cref="IRedirectTarget"/>) has the key; otherwise the action in the flags' low two bits. Unknown flags abort.
    /// </summary>
    private static ulong RedirectMap(HelperContext ctx, ulong map, ulong key, ulong flags, ulong a4, ulong a5)
    {
        const ulong actionMask = 3, broadcast = 1 << 3, excludeIngress = 1 << 4;
        var run = PacketHelpers.CurrentRun("bpf_redirect_map");
        var target = MapRegistry.Find(ctx.Environment)?.FromHandle(map) as IRedirectTarget
            ?? throw new InvalidOperationException($"bpf_redirect_map: r1 = 0x{map:x} is not a device, CPU or socket map of this program");
        if ((flags & ~(actionMask | broadcast | excludeIngress)) != 0)
        {
            return Aborted;
        }

        if (!target.Resolve((uint)key, out var destination))
        {
            return flags & actionMask;
        }

        // Devices are named by the interface index the entry holds; CPUs and sockets by the key itself.
        uint where = destination.MapType is BpfMapType.DevMap or BpfMapType.DevMapHash ? destination.Value : destination.Key;
        run.Redirect = new PacketRedirect(where, flags, destination.MapName, destination.Key);
        return Redirected;
    }
}
