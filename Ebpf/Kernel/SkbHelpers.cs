using Ebpf.Helpers;

namespace Ebpf.Kernel;

/// <summary>The socket-buffer helpers that read and write packet bytes: load/store bytes, checksum replacement, redirect.</summary>
internal static class SkbHelpers
{
    private const ulong Shot = 2, Redirected = 7;

    /// <summary><c>bpf_skb_load_bytes</c> (also offered to socket filters).</summary>
    public static Helper LoadBytes { get; } = new(PacketHelpers.SkbLoadBytes, "bpf_skb_load_bytes", Load)
    {
        Signature = HelperSignature.Of(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.WritableMemory, HelperArgumentKind.MemorySize),
    };

    public static void Register(HelperTable table)
    {
        var replace = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar);
        table.Set(LoadBytes);
        table.Set(new Helper(PacketHelpers.SkbStoreBytes, "bpf_skb_store_bytes", Store)
        {
            Signature = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize, HelperArgumentKind.Scalar),
        });
        table.Set(new Helper(LinuxHelperIds.L3CsumReplace, "bpf_l3_csum_replace", (ctx, skb, offset, from, to, flags) =>
            LinuxHelpers.L3CsumReplace(ctx, PacketOf(skb, "bpf_l3_csum_replace"), offset, from, to, flags)) { Signature = replace });
        table.Set(new Helper(LinuxHelperIds.L4CsumReplace, "bpf_l4_csum_replace", (ctx, skb, offset, from, to, flags) =>
            LinuxHelpers.L4CsumReplace(ctx, PacketOf(skb, "bpf_l4_csum_replace"), offset, from, to, flags)) { Signature = replace });
        table.Set(new Helper(PacketHelpers.Redirect, "bpf_redirect", (_, ifindex, flags, _, _, _) => RedirectTo(ifindex, flags)) { Signature = HelperSignature.Numbers(2) });
    }

    /// <summary>The packet (from <c>data</c>, the socket buffer's length) of the run whose context is <paramref name="skb"/>.</summary>
    private static (ulong Address, ulong Length) PacketOf(ulong skb, string helper)
    {
        var run = PacketHelpers.RunOf(skb, helper);
        return (run.BufferAddress + (ulong)run.Data, (ulong)run.Length);
    }

    /// <summary>Linux <c>bpf_skb_load_bytes</c>: copies packet bytes out; out of range gives -EFAULT and a zeroed destination.</summary>
    private static ulong Load(HelperContext ctx, ulong skb, ulong offset, ulong to, ulong length, ulong a5)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_skb_load_bytes");
        var destination = ctx.GetMemory(to, (uint)length, MemoryAccessKind.Write);
        if ((uint)offset > int.MaxValue || (ulong)(uint)offset + (uint)length > (ulong)run.Length)
        {
            destination.Clear();
            return PacketHelpers.Error(PacketHelpers.EFAULT);
        }

        run.Packet.Slice((int)(uint)offset, destination.Length).CopyTo(destination);
        return 0;
    }

    /// <summary>Linux <c>bpf_skb_store_bytes</c>: copies bytes into the packet; flags other than RECOMPUTE_CSUM and INVALIDATE_HASH are -EINVAL.</summary>
    private static ulong Store(HelperContext ctx, ulong skb, ulong offset, ulong from, ulong length, ulong flags)
    {
        const ulong recomputeChecksum = 1, invalidateHash = 2;
        var run = PacketHelpers.RunOf(skb, "bpf_skb_store_bytes");
        if ((flags & ~(recomputeChecksum | invalidateHash)) != 0)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        var source = ctx.GetMemory(from, (uint)length, MemoryAccessKind.Read);
        if ((uint)offset > int.MaxValue || (ulong)(uint)offset + (uint)length > (ulong)run.Length)
        {
            return PacketHelpers.Error(PacketHelpers.EFAULT);
        }

        source.CopyTo(run.Packet[(int)(uint)offset..]);
        if ((flags & invalidateHash) != 0)
        {
            run.Hash = 0;
            run.Sync();
        }

        return 0;
    }

    /// <summary>Linux <c>bpf_redirect</c> for socket buffers: flags other than BPF_F_INGRESS drop the packet (TC_ACT_SHOT); otherwise TC_ACT_REDIRECT.</summary>
    private static ulong RedirectTo(ulong ifindex, ulong flags)
    {
        const ulong ingress = 1;
        var run = PacketHelpers.CurrentRun("bpf_redirect");
        if ((flags & ~ingress) != 0)
        {
            return Shot;
        }

        run.Redirect = new PacketRedirect((uint)ifindex, flags);
        return Redirected;
    }
}
