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

    public const int GsoSize = 176;
    public const int TstampType = 180;
    public const int Hwtstamp = 184;

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
