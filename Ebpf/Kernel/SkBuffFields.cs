using System.Buffers.Binary;

namespace Ebpf.Kernel;

/// <summary>Offsets of the <c>struct __sk_buff</c> fields (linux/bpf.h) the test run fills and the helpers update.</summary>
internal static class SkBuffFields
{
    public const int Len = 0;
    public const int PktType = 4;
    public const int Mark = 8;
    public const int QueueMapping = 12;
    public const int Protocol = 16;
    public const int VlanPresent = 20;
    public const int VlanTci = 24;
    public const int VlanProto = 28;
    public const int Priority = 32;
    public const int IngressIfindex = 36;
    public const int Ifindex = 40;
    public const int TcIndex = 44;
    public const int Cb = 48;
    public const int Hash = 68;
    public const int TcClassid = 72;
    public const int Data = 76;
    public const int DataEnd = 80;
    public const int NapiId = 84;
    public const int DataMeta = 140;
    public const int Tstamp = 152;
    public const int WireLen = 160;
    public const int GsoSegs = 164;
    public const int Sk = 168;

    /// <summary>
    /// What a program reads in <c>sk</c>: the kernel's test run gives every socket buffer a socket, so the pointer is
    /// never null; the library has no socket behind it and gives this number, which is not 0 (the analysis takes the
    /// load as a number: a program may compare it; a dereference is unproven, and the run's memory check stops it).
    /// </summary>
    public const ulong SocketToken = 1;
    public const int GsoSize = 176;
    public const int TstampType = 180;
    public const int Hwtstamp = 184;

    /// <summary>
    /// The fields Linux 6.18's test run copies from the socket buffer into the <c>ctx_out</c> it gives back
    /// (<c>convert_skb_to___skb</c>: mark, priority, ifindex, tstamp, cb[0..4], wire_len, gso_segs, hwtstamp), as offset
    /// and length; with the fields a context in may set besides (ingress_ifindex, gso_size), which a program cannot
    /// change and so come back as they went in.
    /// </summary>
    private static readonly (int Offset, int Length)[] ContextOutFields =
        [(Mark, 4), (Priority, 4), (IngressIfindex, 4), (Ifindex, 4), (Cb, 20), (Tstamp, 8), (WireLen, 4), (GsoSegs, 4), (GsoSize, 4), (Hwtstamp, 8)];

    /// <summary>The <c>ctx_out</c> the kernel's test run gives back for a socket buffer whose context after the run is <paramref name="context"/>.</summary>
    public static byte[] ContextOut(ReadOnlySpan<byte> context)
    {
        var output = new byte[NativeContext.SkBuffUapiSize];
        foreach (var (offset, length) in ContextOutFields)
        {
            context.Slice(offset, length).CopyTo(output.AsSpan(offset));
        }

        return output;
    }

    /// <summary>Writes the fields the packet and the helpers determine (length, protocol, VLAN tag, hash).</summary>
    public static void Write(Span<byte> context, PacketRun run)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(context[Len..], (uint)run.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(context[Protocol..], run.Protocol);
        BinaryPrimitives.WriteUInt32LittleEndian(context[VlanPresent..], run.VlanPresent ? 1u : 0u);
        BinaryPrimitives.WriteUInt32LittleEndian(context[VlanTci..], run.VlanTci);
        BinaryPrimitives.WriteUInt32LittleEndian(context[VlanProto..], run.VlanProto);
        BinaryPrimitives.WriteUInt32LittleEndian(context[Hash..], run.Hash);
    }
}
