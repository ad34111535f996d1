using System.Buffers.Binary;

namespace Ebpf.Kernel;

/// <summary>
/// Offsets of the <c>struct bpf_sock</c> fields (linux/bpf.h), and the socket a socket-buffer test run gives its
/// packet, as Linux 6.18's <c>bpf_prog_test_run_skb</c> makes it (each field checked with BPF_PROG_TEST_RUN and
/// recorded in the tests' kernel results).
/// </summary>
internal static class SocketFieldOffsets
{
    public const int BoundDevIf = 0;
    public const int Family = 4;
    public const int Type = 8;
    public const int Protocol = 12;
    public const int Mark = 16;
    public const int Priority = 20;
    public const int SrcIp4 = 24;
    public const int SrcIp6 = 28;
    public const int SrcPort = 44;
    public const int DstPort = 48;
    public const int DstIp4 = 52;
    public const int DstIp6 = 56;
    public const int State = 72;
    public const int RxQueueMapping = 76;

    /// <summary><c>AF_INET</c>.</summary>
    private const uint Inet = 2;

    /// <summary><c>AF_INET6</c>.</summary>
    private const uint Inet6 = 10;

    /// <summary><c>TCP_CLOSE</c>, the state of a socket nothing connected or bound.</summary>
    private const uint Closed = 7;

    /// <summary>
    /// Writes the socket of a test run on <paramref name="frame"/> (an Ethernet frame whose IP header, if its EtherType
    /// announces one, is whole: the run refuses it otherwise) into <paramref name="socket"/>, as the kernel's test run
    /// makes it: a socket of no type or protocol, unbound, closed (state 7), with no receive queue (rx_queue_mapping
    /// -1); for an IPv4 frame (EtherType 0x0800) family AF_INET and src_ip4 / dst_ip4 the packet's source and destination
    /// addresses, for IPv6 (0x86dd) AF_INET6 with src_ip6 / dst_ip6; any other frame (ARP, a VLAN tag, whose EtherType is
    /// the tag's) family 0 and no addresses. The ports stay 0.
    /// </summary>
    public static void Write(Span<byte> socket, ReadOnlySpan<byte> frame)
    {
        socket.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(socket[State..], Closed);
        BinaryPrimitives.WriteInt32LittleEndian(socket[RxQueueMapping..], -1);
        switch (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]))
        {
            case 0x0800:
                BinaryPrimitives.WriteUInt32LittleEndian(socket[Family..], Inet);
                frame.Slice(PacketRun.EthernetHeader + 12, 4).CopyTo(socket[SrcIp4..]);
                frame.Slice(PacketRun.EthernetHeader + 16, 4).CopyTo(socket[DstIp4..]);
                break;
            case 0x86dd:
                BinaryPrimitives.WriteUInt32LittleEndian(socket[Family..], Inet6);
                frame.Slice(PacketRun.EthernetHeader + 8, 16).CopyTo(socket[SrcIp6..]);
                frame.Slice(PacketRun.EthernetHeader + 24, 16).CopyTo(socket[DstIp6..]);
                break;
        }
    }
}
