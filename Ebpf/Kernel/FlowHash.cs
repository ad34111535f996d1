using System.Buffers.Binary;

namespace Ebpf.Kernel;

/// <summary>A deterministic flow hash over a frame's IP addresses, protocol and ports (what <c>bpf_get_hash_recalc</c> returns here).</summary>
internal static class FlowHash
{
    /// <summary>The hash of <paramref name="frame"/> (starting at its Ethernet header, EtherType <paramref name="protocol"/>); 0 when it is not an IP packet.</summary>
    public static uint Of(ReadOnlySpan<byte> frame, ushort protocol)
    {
        const int l3 = PacketRun.EthernetHeader;
        int addresses, addressLength, transport;
        byte next;
        if (protocol == 0x0800 && frame.Length >= l3 + 20)
        {
            addresses = l3 + 12;
            addressLength = 8;
            next = frame[l3 + 9];
            transport = l3 + ((frame[l3] & 0xf) * 4);
        }
        else if (protocol == 0x86dd && frame.Length >= l3 + 40)
        {
            addresses = l3 + 8;
            addressLength = 32;
            next = frame[l3 + 6];
            transport = l3 + 40;
        }
        else
        {
            return 0;
        }

        uint hash = 2166136261;
        foreach (byte b in frame.Slice(addresses, addressLength))
        {
            hash = (hash ^ b) * 16777619;
        }

        hash = (hash ^ next) * 16777619;
        if (next is 6 or 17 && frame.Length >= transport + 4)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt32LittleEndian(frame[transport..])) * 16777619;
        }

        return hash == 0 ? 1 : hash;
    }
}
