using System.Buffers.Binary;
using Ebpf.Kernel.Pcap;

namespace Ebpf.Tests.Kernel;

/// <summary>The pcap reader and writer: round trips, both byte orders and resolutions, and damaged files.</summary>
public sealed class PcapTests
{
    [Fact]
    public void Frames_round_trip_with_their_timestamps()
    {
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, leaveOpen: true))
        {
            writer.Write([1, 2, 3], TimeSpan.FromSeconds(5) + TimeSpan.FromMicroseconds(7));
            writer.Write([], TimeSpan.FromSeconds(6));
        }

        stream.Position = 0;
        var frames = PcapReader.ReadAll(stream);
        Assert.Equal(2, frames.Count);
        Assert.Equal([1, 2, 3], frames[0].Data);
        Assert.Equal((3, TimeSpan.FromSeconds(5) + TimeSpan.FromMicroseconds(7)), (frames[0].OriginalLength, frames[0].Timestamp));
        Assert.Empty(frames[1].Data);
    }

    [Fact]
    public void Big_endian_nanosecond_files_are_read()
    {
        var file = new byte[24 + 16 + 2];
        BinaryPrimitives.WriteUInt32BigEndian(file, 0xa1b23c4d);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(24), 10);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(28), 500);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(32), 2);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(36), 60);
        file[40] = 0xaa;
        file[41] = 0xbb;
        var frame = Assert.Single(PcapReader.ReadAll(new MemoryStream(file)));
        Assert.Equal([0xaa, 0xbb], frame.Data);
        Assert.Equal((60, TimeSpan.FromSeconds(10) + TimeSpan.FromTicks(5)), (frame.OriginalLength, frame.Timestamp));
    }

    [Theory]
    [InlineData("", "shorter than a pcap header")]
    [InlineData("0a0d0d0a000000000000000000000000000000000000000000", "pcapng")]
    [InlineData("00112233000000000000000000000000000000000000000000", "not a pcap file")]
    [InlineData("d4c3b2a102000400000000000000000000000400710000000000", "link type is 113, not Ethernet")]
    [InlineData("d4c3b2a1020004000000000000000000000004000100000000", "record header is cut short")]
    [InlineData("d4c3b2a10200040000000000000000000000040001000000000000000000000010000000100000000102", "ends inside the frame's 16 bytes")]
    [InlineData("d4c3b2a10200040000000000000000000000040001000000000000000000000000000001000000010000", "not plausible")]
    public void Damaged_files_end_in_a_pcap_error(string hex, string message)
    {
        var error = Assert.Throws<EbpfPcapException>(() => PcapReader.ReadAll(new MemoryStream(Convert.FromHexString(hex))));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<EbpfException>(error);
    }
}
