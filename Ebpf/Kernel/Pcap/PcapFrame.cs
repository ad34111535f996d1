namespace Ebpf.Kernel.Pcap;

/// <summary>One captured frame: when it was captured, its bytes (as captured) and its length on the wire.</summary>
/// <param name="Timestamp">Capture time since the Unix epoch (microsecond or nanosecond resolution, as the file has it).</param>
/// <param name="Data">The captured bytes.</param>
/// <param name="OriginalLength">The frame's length on the wire (at least <c>Data.Length</c> when the capture cut it).</param>
public sealed record PcapFrame(TimeSpan Timestamp, byte[] Data, int OriginalLength);
