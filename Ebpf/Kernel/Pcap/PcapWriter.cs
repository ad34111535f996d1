using System.Buffers.Binary;

namespace Ebpf.Kernel.Pcap;

/// <summary>Writes classic pcap files (little-endian, microsecond timestamps, Ethernet link type).</summary>
public sealed class PcapWriter : IDisposable
{
    internal const uint MagicMicroseconds = 0xa1b2c3d4;
    internal const uint MagicNanoseconds = 0xa1b23c4d;
    internal const uint LinkTypeEthernet = 1;

    private readonly Stream stream;
    private readonly bool ownsStream;

    /// <summary>Starts a capture file on <paramref name="stream"/> (writes the file header).</summary>
    /// <param name="stream">Where to write.</param>
    /// <param name="leaveOpen">True to keep the stream open when the writer is disposed.</param>
    public PcapWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        this.stream = stream;
        ownsStream = !leaveOpen;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, MagicMicroseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], PcapReader.MaxFrame);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeEthernet);
        stream.Write(header);
    }

    /// <summary>Appends a frame captured at <paramref name="timestamp"/> (since the Unix epoch).</summary>
    public void Write(ReadOnlySpan<byte> frame, TimeSpan timestamp)
    {
        Span<byte> record = stackalloc byte[16];
        long ticks = Math.Max(0, timestamp.Ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(ticks / TimeSpan.TicksPerSecond));
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(ticks % TimeSpan.TicksPerSecond / 10));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
        stream.Write(record);
        stream.Write(frame);
    }

    /// <summary>Flushes and (unless left open) closes the stream.</summary>
    public void Dispose()
    {
        stream.Flush();
        if (ownsStream)
        {
            stream.Dispose();
        }
    }
}
