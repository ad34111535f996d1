using System.Buffers.Binary;

namespace Ebpf.Kernel;

/// <summary>
/// The <c>struct xdp_md</c> an XDP test run is given in and gives back (the kernel's <c>ctx_in</c> and
/// <c>ctx_out</c>), with the rules Linux 6.18's <c>bpf_prog_test_run_xdp</c> applies to it (each checked on that kernel
/// through BPF_PROG_TEST_RUN; recorded in the tests' kernel results).
/// </summary>
/// <param name="MetaLength">The <c>data</c> field: how many of the packet bytes given are metadata.</param>
/// <param name="DataEnd">The <c>data_end</c> field: where the linear part ends, counted from the metadata.</param>
/// <param name="IngressIfindex">The <c>ingress_ifindex</c> field as given (0: none).</param>
/// <param name="RxQueueIndex">The <c>rx_queue_index</c> field as given.</param>
internal readonly record struct XdpMd(int MetaLength, int DataEnd, uint IngressIfindex, uint RxQueueIndex)
{
    /// <summary>The size of <c>struct xdp_md</c>.</summary>
    public const int Size = NativeContext.XdpUapiSize;

    /// <summary>
    /// The most metadata a context in may announce: the headroom (256 bytes) less the frame header the kernel keeps in
    /// front of it (40); 220 and more are refused with EINVAL on Linux 6.18.
    /// </summary>
    public const int MaxMeta = PacketRun.XdpHeadroom - PacketRun.XdpFrameHeaderSize;

    /// <summary>The C structure's name, for refusals.</summary>
    private const string Name = "struct xdp_md";

    /// <summary>The loopback device's interface index (the device of the kernel's test run), which has one receive queue.</summary>
    private const uint Loopback = 1;

    /// <summary>
    /// Reads and checks the context given in with a frame of <paramref name="frameLength"/> bytes (null or empty: a zeroed
    /// structure, as the kernel makes one when only <c>ctx_out</c> is asked).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The kernel's test run would refuse the context (E2BIG, EINVAL).</exception>
    public static XdpMd Parse(ReadOnlySpan<byte> given, int frameLength)
    {
        Span<byte> md = stackalloc byte[Size];
        ContextIn.Copy(given, md, Name);
        uint data = Field(md, 0), dataEnd = Field(md, 1), dataMeta = Field(md, 2), ingress = Field(md, 3), queue = Field(md, 4), egress = Field(md, 5);
        if (dataMeta != 0)
        {
            throw Refused($"data_meta is {dataMeta}; it must be 0 (the metadata's length is given in data)", "EINVAL");
        }

        if (dataEnd > (uint)frameLength)
        {
            throw Refused($"data_end {dataEnd} lies past the {frameLength} bytes given", "EINVAL");
        }

        if (data > dataEnd)
        {
            throw Refused($"data {data} lies past data_end {dataEnd}", "EINVAL");
        }

        if ((data & 3) != 0 || data > MaxMeta)
        {
            throw Refused($"data {data} (the metadata's length) is not a multiple of 4 of at most {MaxMeta}", "EINVAL");
        }

        if (frameLength - (int)data < PacketRun.EthernetHeader)
        {
            throw Refused($"the packet after its {data} bytes of metadata has {frameLength - (int)data} bytes, fewer than an Ethernet header ({PacketRun.EthernetHeader})", "EINVAL");
        }

        if (egress != 0)
        {
            throw Refused($"egress_ifindex is {egress}; a test run cannot give one", "EINVAL");
        }

        if (ingress == 0 && queue != 0)
        {
            throw Refused($"rx_queue_index {queue} is given without an ingress_ifindex", "EINVAL");
        }

        if (ingress == Loopback && queue != 0)
        {
            throw Refused($"rx_queue_index {queue}: the loopback device (ingress_ifindex 1) has one receive queue (0)", "EINVAL");
        }

        return new XdpMd((int)data, (int)dataEnd, ingress, queue);
    }

    /// <summary>The context the kernel gives back after a run that left <paramref name="run"/> (its <c>data</c> and <c>data_end</c> relative to the metadata, the devices as given).</summary>
    public byte[] Out(PacketRun run)
    {
        var output = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(output, (uint)(run.Data - run.Meta));
        BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(4), (uint)(run.DataEnd - run.Meta));
        BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(12), IngressIfindex);
        BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(16), RxQueueIndex);
        return output;
    }

    private static uint Field(ReadOnlySpan<byte> md, int index) => BinaryPrimitives.ReadUInt32LittleEndian(md[(4 * index)..]);

    /// <summary>
    /// Refuses a context whose <c>ingress_ifindex</c> (when not 0) is not one of <paramref name="devices"/>, as the
    /// kernel's test run refuses an index its network namespace has no device for (<c>dev_get_by_index</c>: ENODEV;
    /// Linux 6.18 refused 99 and ran 4, a device of that machine). The receive queue of a device other than the
    /// loopback device is not checked: a user-space run does not know how many the device has (the kernel answers
    /// EINVAL for a queue at or past its count).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The device is not in the list, or the list is null.</exception>
    public void CheckDevice(IReadOnlyList<uint>? devices)
    {
        if (devices is null || IngressIfindex != 0)
        {
            ContextIn.CheckDevice(Name, "ingress_ifindex", IngressIfindex, devices);
        }
    }

    private static EbpfTestRunException Refused(string why, string errno) => ContextIn.Refused(Name, why, errno);
}
