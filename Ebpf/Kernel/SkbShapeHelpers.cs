using System.Buffers.Binary;
using Ebpf.Helpers;

namespace Ebpf.Kernel;

/// <summary>
/// The socket-buffer helpers that change the packet's shape: room after the MAC or network header, head and tail
/// length, VLAN tags (held outside the packet, as the kernel's accelerated tag) and the flow hash. The packet's
/// <c>data</c> stays where it is: growing at the head moves the bytes after it, which programs cannot tell apart from
/// the kernel's moving pointer (both invalidate packet pointers).
/// </summary>
internal static class SkbShapeHelpers
{
    private const ushort Ipv4 = 0x0800, Ipv6 = 0x86dd, Vlan8021Q = 0x8100, Vlan8021AD = 0x88a8;
    private const int MacAddresses = 12, VlanHeader = 4;

    public static void Register(HelperTable table)
    {
        table.Set(new Helper(PacketHelpers.SkbAdjustRoom, "bpf_skb_adjust_room", (_, skb, diff, mode, flags, _) => AdjustRoom(skb, (int)diff, (uint)mode, flags)) { Signature = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(PacketHelpers.SkbChangeHead, "bpf_skb_change_head", (_, skb, room, flags, _, _) => ChangeHead(skb, (uint)room, flags)) { Signature = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(PacketHelpers.SkbChangeTail, "bpf_skb_change_tail", (_, skb, length, flags, _, _) => ChangeTail(skb, (uint)length, flags)) { Signature = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(PacketHelpers.SkbVlanPush, "bpf_skb_vlan_push", (_, skb, proto, tci, _, _) => VlanPush(skb, (ushort)proto, (ushort)tci)) { Signature = PacketHelpers.Moving(HelperArgumentKind.Context, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(PacketHelpers.SkbVlanPop, "bpf_skb_vlan_pop", (_, skb, _, _, _, _) => VlanPop(skb)) { Signature = PacketHelpers.Moving(HelperArgumentKind.Context) });
        table.Set(new Helper(PacketHelpers.GetHashRecalc, "bpf_get_hash_recalc", (_, skb, _, _, _, _) => HashRecalc(skb)) { Signature = HelperSignature.Of(HelperArgumentKind.Context) });
    }

    /// <summary>
    /// Linux <c>bpf_skb_adjust_room</c> for IPv4 and IPv6 packets: inserts (zeroed) or removes <paramref name="diff"/>
    /// bytes after the MAC header (mode 1, BPF_ADJ_ROOM_MAC) or after the fixed network header (mode 0,
    /// BPF_ADJ_ROOM_NET). Of the flags only BPF_F_ADJ_ROOM_FIXED_GSO and BPF_F_ADJ_ROOM_NO_CSUM_RESET are taken (they
    /// change nothing here); the encapsulation flags give -ENOTSUPP, unknown flags -EINVAL.
    /// </summary>
    private static ulong AdjustRoom(ulong skb, int diff, uint mode, ulong flags)
    {
        const ulong fixedGso = 1, noChecksumReset = 1 << 5, known = (1 << 11) - 1 | (0xfful << 56);
        var run = PacketHelpers.RunOf(skb, "bpf_skb_adjust_room");
        if ((flags & ~known) != 0)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        if ((flags & ~(fixedGso | noChecksumReset)) != 0 || mode > 1)
        {
            return PacketHelpers.Error(PacketHelpers.ENOTSUPP);
        }

        int magnitude = Math.Abs(diff);
        if (diff == int.MinValue || magnitude > 0xfff)
        {
            return PacketHelpers.Error(PacketHelpers.EFAULT);
        }

        ushort protocol = BinaryPrimitives.ReverseEndianness(run.Protocol);
        if (protocol is not (Ipv4 or Ipv6))
        {
            return PacketHelpers.Error(PacketHelpers.ENOTSUPP);
        }

        int networkBase = protocol == Ipv4 ? 20 : 40;
        int offset = PacketRun.EthernetHeader + (mode == 0 ? networkBase : 0);
        int networkLength = run.Length - PacketRun.EthernetHeader;
        if (offset > run.Length)
        {
            // A packet trimmed below its fixed headers has no room to adjust there.
            return PacketHelpers.Error(PacketHelpers.ENOTSUPP);
        }

        if (diff < 0 ? magnitude >= networkLength || networkLength - magnitude < networkBase : run.Length + magnitude > MaxLength(run))
        {
            return PacketHelpers.Error(PacketHelpers.ENOTSUPP);
        }

        run.Splice(offset, diff);
        run.Sync();
        return 0;
    }

    /// <summary>Linux <c>bpf_skb_change_head</c>: <paramref name="room"/> zeroed bytes in front of the packet; any flag is -EINVAL.</summary>
    private static ulong ChangeHead(ulong skb, uint room, ulong flags)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_skb_change_head");
        if (flags != 0 || room > int.MaxValue || run.Length + (long)room > MaxLength(run))
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        run.Splice(0, (int)room);
        run.Sync();
        return 0;
    }

    /// <summary>Linux <c>bpf_skb_change_tail</c>: trims or grows (zeroed) the packet to <paramref name="length"/> bytes, at least the MAC header; any flag is -EINVAL.</summary>
    private static ulong ChangeTail(ulong skb, uint length, ulong flags)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_skb_change_tail");
        if (flags != 0 || length > MaxLength(run) || length < PacketRun.EthernetHeader)
        {
            return PacketHelpers.Error(PacketHelpers.EINVAL);
        }

        run.Splice(Math.Min(run.Length, (int)length), (int)length - run.Length);
        run.Sync();
        return 0;
    }

    /// <summary>
    /// Linux <c>bpf_skb_vlan_push</c> (<c>skb_vlan_push</c>): a tag already held moves into the packet after the MAC
    /// addresses (and becomes the packet's protocol); the new tag is held. A protocol other than 802.1Q or 802.1ad
    /// (network order) is taken as 802.1Q.
    /// </summary>
    private static ulong VlanPush(ulong skb, ushort proto, ushort tci)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_skb_vlan_push");
        ushort host = BinaryPrimitives.ReverseEndianness(proto);
        if (host is not (Vlan8021Q or Vlan8021AD))
        {
            proto = BinaryPrimitives.ReverseEndianness(Vlan8021Q);
        }

        if (run.VlanPresent)
        {
            if (run.Length < MacAddresses || run.Length + VlanHeader > MaxLength(run))
            {
                return PacketHelpers.Error(PacketHelpers.ENOMEM);
            }

            run.Splice(MacAddresses, VlanHeader);
            var tag = run.Packet.Slice(MacAddresses, VlanHeader);
            BinaryPrimitives.WriteUInt16LittleEndian(tag, run.VlanProto);
            BinaryPrimitives.WriteUInt16BigEndian(tag[2..], run.VlanTci);
            run.Protocol = run.VlanProto;
        }

        run.HoldVlan(proto, tci);
        return 0;
    }

    /// <summary>
    /// Linux <c>bpf_skb_vlan_pop</c> (<c>skb_vlan_pop</c>): drops the held tag, or else the packet's outer tag; then
    /// a further tag in the packet becomes the held one.
    /// </summary>
    private static ulong VlanPop(ulong skb)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_skb_vlan_pop");
        if (run.VlanPresent)
        {
            run.ReleaseVlan();
        }
        else if (!IsVlan(run.Protocol))
        {
            return 0;
        }
        else if (!PopFromPacket(run, out _))
        {
            return PacketHelpers.Error(PacketHelpers.ENOMEM);
        }

        if (IsVlan(run.Protocol))
        {
            ushort outer = run.Protocol;
            if (!PopFromPacket(run, out ushort tci))
            {
                run.Sync();
                return PacketHelpers.Error(PacketHelpers.ENOMEM);
            }

            run.HoldVlan(outer, tci);
            return 0;
        }

        run.Sync();
        return 0;
    }

    /// <summary>
    /// <c>bpf_get_hash_recalc</c>: a flow hash of the IPv4/IPv6 addresses, protocol and TCP/UDP ports (FNV-1a; never 0
    /// for an IP packet, 0 otherwise), stored in <c>__sk_buff.hash</c>. The kernel seeds its hash randomly at boot, so
    /// only equality between packets of a flow carries over, not the values.
    /// </summary>
    private static ulong HashRecalc(ulong skb)
    {
        var run = PacketHelpers.RunOf(skb, "bpf_get_hash_recalc");
        run.Hash = FlowHash.Of(run.Packet, BinaryPrimitives.ReverseEndianness(run.Protocol));
        run.Sync();
        return run.Hash;
    }

    private static bool IsVlan(ushort networkOrderProtocol) => BinaryPrimitives.ReverseEndianness(networkOrderProtocol) is Vlan8021Q or Vlan8021AD;

    /// <summary><c>__skb_vlan_pop</c>: removes the tag after the MAC addresses; the protocol becomes the one it encapsulated.</summary>
    private static bool PopFromPacket(PacketRun run, out ushort tci)
    {
        tci = 0;
        if (run.Length < PacketRun.EthernetHeader + VlanHeader)
        {
            return false;
        }

        var packet = run.Packet;
        tci = BinaryPrimitives.ReadUInt16BigEndian(packet[PacketRun.EthernetHeader..]);
        run.Protocol = BinaryPrimitives.ReadUInt16LittleEndian(packet[(PacketRun.EthernetHeader + 2)..]);
        run.Splice(MacAddresses, -VlanHeader);
        return true;
    }

    private static int MaxLength(PacketRun run) => run.Capacity - run.Data;
}
