using System.Buffers.Binary;

namespace Ebpf.Kernel.Pcap;

/// <summary>
/// Reads classic pcap capture files (libpcap format, either byte order, microsecond or nanosecond timestamps) of
/// Ethernet frames. pcapng is not read. Malformed files end in <see cref="EbpfPcapException"/>.
/// </summary>
public static class PcapReader
{
    /// <summary>The largest frame accepted (bigger records mean a corrupt file).</summary>
    public const int MaxFrame = 262144;

    /// <summary>Reads every frame of <paramref name="stream"/>.</summary>
    /// <exception cref="EbpfPcapException">The file is not a pcap file of Ethernet frames, or is cut short.</exception>
    public static IReadOnlyList<PcapFrame> ReadAll(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[24];
        if (!ReadExactly(stream, header))
        {
            throw new EbpfPcapException("the file is shorter than a pcap header (24 bytes)");
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        (bool bigEndian, bool nanoseconds) = magic switch
        {
            PcapWriter.MagicMicroseconds => (false, false),
            PcapWriter.MagicNanoseconds => (false, true),
            0xd4c3b2a1 => (true, false),
            0x4d3cb2a1 => (true, true),
            0x0a0d0d0a => throw new EbpfPcapException("the file is pcapng, not classic pcap (convert it with 'editcap -F pcap')"),
            _ => throw new EbpfPcapException($"not a pcap file (magic 0x{magic:x8})"),
        };
        uint linkType = Read32(header[20..], bigEndian) & 0x0fffffff;
        if (linkType != PcapWriter.LinkTypeEthernet)
        {
            throw new EbpfPcapException($"the capture's link type is {linkType}, not Ethernet (1)");
        }

        var frames = new List<PcapFrame>();
        Span<byte> record = stackalloc byte[16];
        while (true)
        {
            int got = stream.ReadAtLeast(record, record.Length, throwOnEndOfStream: false);
            if (got == 0)
            {
                return frames;
            }

            if (got < record.Length)
            {
                throw new EbpfPcapException($"frame {frames.Count + 1}: the record header is cut short");
            }

            uint seconds = Read32(record, bigEndian), fraction = Read32(record[4..], bigEndian);
            uint captured = Read32(record[8..], bigEndian), original = Read32(record[12..], bigEndian);
            if (captured > MaxFrame)
            {
                throw new EbpfPcapException($"frame {frames.Count + 1}: a captured length of {captured} bytes is not plausible (at most {MaxFrame})");
            }

            var data = new byte[captured];
            if (!ReadExactly(stream, data))
            {
                throw new EbpfPcapException($"frame {frames.Count + 1}: the file ends inside the frame's {captured} bytes");
            }

            long ticks = (seconds * TimeSpan.TicksPerSecond) + (nanoseconds ? fraction / 100 : fraction * 10L);
            frames.Add(new PcapFrame(TimeSpan.FromTicks(ticks), data, (int)Math.Min(Math.Max(original, captured), int.MaxValue)));
        }
    }

    /// <summary>Reads every frame of the file at <paramref name="path"/>.</summary>
    /// <exception cref="EbpfPcapException">The file is not a pcap file of Ethernet frames, or is cut short.</exception>
    public static IReadOnlyList<PcapFrame> ReadAll(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadAll(stream);
    }

    private static uint Read32(ReadOnlySpan<byte> bytes, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static bool ReadExactly(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length;
}
