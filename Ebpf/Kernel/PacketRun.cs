using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ebpf.Kernel;

/// <summary>
/// The trusted state of one packet under test: the buffer (with the kernel's headroom and tailroom), where the packet
/// and its metadata start and end, and the socket-buffer fields helpers change. The program's context structure is
/// written from this state (never read back for pointers: a program may scribble over its context), so the packet
/// helpers only ever move the packet's edges inside the buffer. The run in progress on a thread is
/// <see cref="Current"/>; helpers find it there.
/// </summary>
internal sealed unsafe class PacketRun : IDisposable
{
    /// <summary>The kernel's XDP headroom (<c>XDP_PACKET_HEADROOM</c>).</summary>
    public const int XdpHeadroom = 256;

    /// <summary>The XDP frame: one page, as the kernel's test run uses.</summary>
    public const int XdpFrameSize = 4096;

    /// <summary><c>SKB_DATA_ALIGN(sizeof(struct skb_shared_info))</c> on x86-64: the tail of a frame packets may not grow into.</summary>
    public const int SharedInfoSize = 320;

    /// <summary><c>sizeof(struct xdp_frame)</c>: the start of the headroom metadata and adjust_head may not move into.</summary>
    public const int XdpFrameHeaderSize = 40;

    /// <summary>The largest socket buffer the helpers may grow a packet to.</summary>
    public const int SkbCapacity = 16384;

    /// <summary>The Ethernet header's length.</summary>
    public const int EthernetHeader = 14;

    /// <summary><c>MAX_SKB_FRAGS</c>: how many page fragments an XDP frame may have besides its buffer.</summary>
    public const int MaxFragments = 17;

    /// <summary>The size of one fragment's page (the kernel's test run fills each with up to a page of the frame).</summary>
    public const int FragmentSize = 4096;

    /// <summary>The fragments of an XDP frame longer than the buffer (<see cref="MaxFragments"/> pages, made at the first such frame).</summary>
    private byte[]? fragments;

    /// <summary>The fragments' lengths (the first <see cref="FragmentCount"/> are in use).</summary>
    private readonly int[] fragmentLengths = new int[MaxFragments];

    [ThreadStatic]
    private static PacketRun? current;

    private readonly byte* buffer;
    private readonly byte* context;

    public PacketRun(KernelProgramType type)
    {
        Type = type;
        Capacity = type == KernelProgramType.Xdp ? XdpFrameSize : SkbCapacity;
        ContextSize = NativeContext.Size(type);
        buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Capacity, 64);
        SocketSize = type == KernelProgramType.Xdp ? 0 : NativeContext.SocketSize;
        context = (byte*)NativeMemory.AlignedAlloc((nuint)(ContextSize + SocketSize), 8);
        NativeMemory.Clear(buffer, (nuint)Capacity);
        NativeMemory.Clear(context, (nuint)(ContextSize + SocketSize));
    }

    /// <summary>The run in progress on this thread (set by <see cref="KernelProgram"/> around each run).</summary>
    public static PacketRun? Current
    {
        get => current;
        set => current = value;
    }

    public KernelProgramType Type { get; }

    public int Capacity { get; }

    public int ContextSize { get; }

    /// <summary>Socket buffers: the size of the run's socket (<c>struct bpf_sock</c>, right after the native context); XDP: 0.</summary>
    public int SocketSize { get; }

    /// <summary>
    /// Socket buffers: the run's socket, which <c>__sk_buff.sk</c> points at (as the kernel's test run, every socket
    /// buffer has one: see <see cref="SocketFieldOffsets.Write"/>); empty for XDP.
    /// </summary>
    public Span<byte> Socket => new(context + ContextSize, SocketSize);

    /// <summary>The address of <see cref="Socket"/> (socket buffers).</summary>
    public ulong SocketAddress => (ulong)(context + ContextSize);

    /// <summary>Offset of the first packet byte the program sees (<c>data</c>).</summary>
    public int Data { get; private set; }

    /// <summary>Offset just past the last packet byte (<c>data_end</c>).</summary>
    public int DataEnd { get; set; }

    /// <summary>Offset of the XDP metadata (<c>data_meta</c>; equal to <see cref="Data"/> when there is none).</summary>
    public int Meta { get; set; }

    /// <summary>Socket buffers: a VLAN tag held outside the packet (the kernel's accelerated tag).</summary>
    public bool VlanPresent { get; set; }

    /// <summary>Socket buffers: the held tag's protocol in network order, as <c>__sk_buff.vlan_proto</c> holds it.</summary>
    public ushort VlanProto { get; set; }

    /// <summary>Socket buffers: the held tag's TCI.</summary>
    public ushort VlanTci { get; set; }

    /// <summary>Socket buffers: the packet's EtherType in network order, as <c>__sk_buff.protocol</c> holds it.</summary>
    public ushort Protocol { get; set; }

    /// <summary>Socket buffers: the flow hash (<c>__sk_buff.hash</c>).</summary>
    public uint Hash { get; set; }

    /// <summary>Where the last bpf_redirect or bpf_redirect_map sent the packet, if anywhere.</summary>
    public PacketRedirect? Redirect { get; set; }

    public ulong ContextAddress => (ulong)context;

    public ulong BufferAddress => (ulong)buffer;

    /// <summary>The packet as the program sees it.</summary>
    public Span<byte> Packet => new(buffer + Data, DataEnd - Data);

    /// <summary>The whole buffer.</summary>
    public Span<byte> Buffer => new(buffer, Capacity);

    /// <summary>The input memory of the run: the whole XDP frame, or the socket buffer from <c>data</c> on.</summary>
    public Span<byte> InputMemory => Type == KernelProgramType.Xdp ? Buffer : new Span<byte>(buffer + Data, Capacity - Data);

    public Span<byte> Context => new(context, ContextSize);

    /// <summary>
    /// The context as the runs get it (their metadata region): the uapi structure only. The packet pointers after it
    /// lie outside every region a program may write (see <see cref="PointerRegion"/>): the engines run the proven
    /// accesses of a kernel program without checks, relying on those pointers, so a store the analysis could not place
    /// (through a leaked context address, say) must never reach them.
    /// </summary>
    public Span<byte> ProgramContext => new(context, NativeContext.PointersOffset(Type));

    /// <summary>
    /// The packet pointers after the uapi structure, and the socket after them, as a read-only region: a checked load can
    /// read them, no store can change them (the engines run proven socket loads without checks, relying on
    /// <c>sk</c>).
    /// </summary>
    public MemoryRegion PointerRegion => new((ulong)context + (ulong)NativeContext.PointersOffset(Type), (ulong)(ContextSize + SocketSize - NativeContext.PointersOffset(Type)), MemoryRegionKind.Metadata, writable: false);

    /// <summary>
    /// The socket buffers' headroom in the kernel's test run: <c>NET_SKB_PAD</c> (64 with 64-byte cache lines) plus
    /// <c>NET_IP_ALIGN</c> (0 on x86-64).
    /// </summary>
    public const int SkbHeadroom = 64;

    /// <summary>
    /// The largest packet this type accepts: the page minus headroom and shared info, as the kernel's test run (checked
    /// on Linux 6.18: a tc program or socket filter takes a 3,712-byte frame and refuses 3,713 bytes with EINVAL).
    /// </summary>
    public int MaxPacket => Type == KernelProgramType.Xdp ? XdpFrameSize - XdpHeadroom - SharedInfoSize : XdpFrameSize - SkbHeadroom - SharedInfoSize;

    /// <summary>The socket-buffer length field: the packet from <c>data</c> (for socket filters, from the network header).</summary>
    public int Length => DataEnd - Data;

    /// <summary>
    /// XDP: how many page fragments the frame has besides the buffer (a frame longer than <see cref="MaxPacket"/>, as
    /// the kernel's test run lays it out: the first <see cref="MaxPacket"/> bytes in the buffer the program sees, the
    /// rest in fragments of up to a page, which the program cannot read directly: <c>bpf_xdp_load_bytes</c> and
    /// <c>bpf_xdp_store_bytes</c> reach them, <c>bpf_xdp_adjust_tail</c> grows and shrinks them). A context in may end the
    /// linear part earlier (see <see cref="TestRunOptions.XdpContextIn"/>).
    /// </summary>
    public int FragmentCount { get; private set; }

    /// <summary>XDP: the bytes in fragments.</summary>
    public int FragmentBytes
    {
        get
        {
            int total = 0;
            for (int i = 0; i < FragmentCount; i++)
            {
                total += fragmentLengths[i];
            }

            return total;
        }
    }

    /// <summary>XDP: the whole frame's length from <c>data</c>, the linear part and the fragments (<c>bpf_xdp_get_buff_len</c>).</summary>
    public int FrameLength => DataEnd - Data + FragmentBytes;

    /// <summary>
    /// XDP: copies <paramref name="bytes"/>.Length bytes of the frame from <paramref name="offset"/> (counted from
    /// <c>data</c>, across the linear part and the fragments in order) into <paramref name="bytes"/>, or, with
    /// <paramref name="write"/>, from <paramref name="bytes"/> into the frame. The caller keeps the range inside
    /// <see cref="FrameLength"/>.
    /// </summary>
    public void CopyFrame(int offset, Span<byte> bytes, bool write)
    {
        var linear = new Span<byte>(buffer + Data, DataEnd - Data);
        for (int segment = -1; !bytes.IsEmpty; segment++)
        {
            var piece = segment < 0 ? linear : fragments.AsSpan(segment * FragmentSize, fragmentLengths[segment]);
            if (offset >= piece.Length)
            {
                offset -= piece.Length;
                continue;
            }

            int length = Math.Min(bytes.Length, piece.Length - offset);
            if (write)
            {
                bytes[..length].CopyTo(piece[offset..]);
            }
            else
            {
                piece.Slice(offset, length).CopyTo(bytes);
            }

            bytes = bytes[length..];
            offset = 0;
        }
    }

    /// <summary>
    /// XDP <c>bpf_xdp_adjust_tail</c> on a frame with fragments (Linux's <c>bpf_xdp_frags_increase_tail</c> and
    /// <c>bpf_xdp_frags_shrink_tail</c>, checked on 6.18): growth goes into the last fragment's page (zeroed), at most
    /// to its end; shrinking takes bytes from the last fragments (dropping emptied ones) and, once none is left, from
    /// the buffer, keeping an Ethernet header. False (the kernel's -EINVAL) when it cannot.
    /// </summary>
    public bool AdjustFragmentedTail(int delta)
    {
        if (delta >= 0)
        {
            int last = FragmentCount - 1;
            if (delta > FragmentSize - fragmentLengths[last])
            {
                return false;
            }

            fragments.AsSpan((last * FragmentSize) + fragmentLengths[last], delta).Clear();
            fragmentLengths[last] += delta;
            return true;
        }

        long shrink = -(long)delta;
        if (shrink > DataEnd - Data + FragmentBytes - EthernetHeader)
        {
            return false;
        }

        while (shrink > 0 && FragmentCount > 0)
        {
            int last = FragmentCount - 1;
            int taken = (int)Math.Min(shrink, fragmentLengths[last]);
            fragmentLengths[last] -= taken;
            shrink -= taken;
            if (fragmentLengths[last] == 0)
            {
                FragmentCount--;
            }
        }

        DataEnd -= (int)shrink;
        return true;
    }

    /// <summary>Loads <paramref name="frame"/> into the buffer and sets the context up as the kernel's test run does.</summary>
    /// <exception cref="EbpfTestRunException">The kernel would refuse the frame.</exception>
    public void Load(ReadOnlySpan<byte> frame, TestRunOptions options)
    {
        if (frame.Length < EthernetHeader)
        {
            throw new EbpfTestRunException($"the packet has {frame.Length} bytes, fewer than an Ethernet header ({EthernetHeader}); the kernel's test run refuses it (EINVAL)");
        }

        if (Type != KernelProgramType.Xdp && frame.Length > MaxPacket)
        {
            throw new EbpfTestRunException($"the packet has {frame.Length} bytes, more than the {MaxPacket} a {Type} test run takes; the kernel's test run refuses it (EINVAL)");
        }

        XdpContext = null;
        if (Type == KernelProgramType.Xdp)
        {
            LoadXdp(frame, options);
        }
        else
        {
            LoadSkb(frame, options);
        }

        Sync();
    }

    /// <summary>XDP: the context given in (and to give back), null when the run has none.</summary>
    public XdpMd? XdpContext { get; private set; }

    /// <summary>Socket buffers: the context given in (and to give back), null when the run has none.</summary>
    public SkBuffIn? SkbContextIn { get; private set; }

    /// <summary>The packet as the test run reports it (the kernel's <c>data_out</c>).</summary>
    public byte[] Output()
    {
        if (Type == KernelProgramType.Xdp)
        {
            var output = new byte[DataEnd - Meta + FragmentBytes];
            new Span<byte>(buffer + Meta, DataEnd - Meta).CopyTo(output);
            for (int i = 0, at = DataEnd - Meta; i < FragmentCount; at += fragmentLengths[i], i++)
            {
                fragments.AsSpan(i * FragmentSize, fragmentLengths[i]).CopyTo(output.AsSpan(at));
            }

            return output;
        }

        if (Type == KernelProgramType.SocketFilter)
        {
            // The kernel hands back the frame from the MAC header, whose bytes it has not kept: zeros.
            var output = new byte[EthernetHeader + Length];
            Packet.CopyTo(output.AsSpan(EthernetHeader));
            return output;
        }

        return Packet.ToArray();
    }

    /// <summary>Writes the packet pointers and the socket-buffer fields the helpers own into the context.</summary>
    public void Sync()
    {
        int pointers = NativeContext.PointersOffset(Type);
        var ctx = Context;
        BinaryPrimitives.WriteUInt64LittleEndian(ctx[pointers..], (ulong)(buffer + Data));
        BinaryPrimitives.WriteUInt64LittleEndian(ctx[(pointers + 8)..], (ulong)(buffer + DataEnd));
        BinaryPrimitives.WriteUInt64LittleEndian(ctx[(pointers + 16)..], (ulong)(buffer + (Type == KernelProgramType.Xdp ? Meta : Data)));
        if (Type != KernelProgramType.Xdp)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(ctx[NativeContext.PointerOffset(Type, "sk")..], SocketAddress);
            SkBuffFields.Write(ctx, this);
        }
    }

    /// <summary>Moves the socket-buffer packet's bytes from <paramref name="offset"/> on by <paramref name="delta"/> (growing: zeroed gap; shrinking: bytes removed).</summary>
    public void Splice(int offset, int delta)
    {
        var packet = new Span<byte>(buffer + Data, Capacity - Data);
        int length = Length;
        if (delta > 0)
        {
            packet[offset..length].CopyTo(packet[(offset + delta)..]);
            packet.Slice(offset, delta).Clear();
        }
        else if (delta < 0)
        {
            packet[(offset - delta)..length].CopyTo(packet[offset..]);
            packet.Slice(length + delta, -delta).Clear();
        }

        DataEnd += delta;
    }

    /// <summary>Holds a VLAN tag outside the packet (protocol in network order) and updates the context.</summary>
    public void HoldVlan(ushort proto, ushort tci)
    {
        VlanPresent = true;
        VlanProto = proto;
        VlanTci = tci;
        Sync();
    }

    /// <summary>Drops the held VLAN tag (the caller syncs the context).</summary>
    public void ReleaseVlan()
    {
        VlanPresent = false;
        VlanProto = 0;
        VlanTci = 0;
    }

    /// <summary>Moves <see cref="Data"/> (XDP only; socket buffers keep <c>data</c> fixed and splice instead).</summary>
    public void MoveData(int data) => Data = data;

    public void Dispose()
    {
        NativeMemory.AlignedFree(buffer);
        NativeMemory.AlignedFree(context);
    }

    /// <summary>Clears the buffer, the context, the redirect and the fragments before a frame is loaded.</summary>
    private void Reset()
    {
        Buffer.Clear();
        Context.Clear();
        Redirect = null;
        FragmentCount = 0;
    }

    /// <summary>XDP: the bytes of the frame past the buffer, in fragments of up to a page.</summary>
    private void LoadFragments(ReadOnlySpan<byte> rest)
    {
        if (rest.IsEmpty)
        {
            return;
        }

        fragments ??= new byte[MaxFragments * FragmentSize];
        for (; !rest.IsEmpty; FragmentCount++)
        {
            int length = Math.Min(rest.Length, FragmentSize);
            rest[..length].CopyTo(fragments.AsSpan(FragmentCount * FragmentSize));
            fragmentLengths[FragmentCount] = length;
            rest = rest[length..];
        }
    }

    /// <summary>
    /// XDP: the frame into the buffer (its metadata, if a context in announces some, in front of <c>data</c>), the bytes
    /// past the linear part into fragments, and the device fields of the context, as Linux 6.18's test run lays them out.
    /// </summary>
    private void LoadXdp(ReadOnlySpan<byte> frame, TestRunOptions options)
    {
        int meta = 0, linearEnd = frame.Length;
        uint ingress = options.IngressIfindex, queue = options.RxQueueIndex;
        if (options.PassesXdpContext)
        {
            if (ingress != 1 || queue != 0)
            {
                throw new EbpfTestRunException("a test run given an XDP context in takes ingress_ifindex and rx_queue_index from it; leave TestRunOptions.IngressIfindex and RxQueueIndex at their defaults");
            }

            var md = XdpMd.Parse(options.XdpContextIn, frame.Length);
            md.CheckDevice(options.Devices);
            XdpContext = md;
            (meta, linearEnd) = (md.MetaLength, md.DataEnd);
            // ingress_ifindex 0 keeps the loopback device of the test run, which the program then reads
            (ingress, queue) = (md.IngressIfindex == 0 ? 1 : md.IngressIfindex, md.RxQueueIndex);
        }

        int linear = Math.Min(linearEnd - meta, MaxPacket);
        int rest = frame.Length - meta - linear;
        if (rest > MaxFragments * FragmentSize)
        {
            throw new EbpfTestRunException(
                $"the packet has {frame.Length - meta} bytes, more than the {linear + (MaxFragments * FragmentSize)} an XDP test run takes here ({linear} in the buffer and {MaxFragments} fragments of {FragmentSize}); the kernel's test run refuses it (ENOMEM)");
        }

        Reset();
        Data = XdpHeadroom;
        Meta = Data - meta;
        frame[..(meta + linear)].CopyTo(Buffer[Meta..]);
        DataEnd = Data + linear;
        LoadFragments(frame[(meta + linear)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(Context[12..], ingress);
        BinaryPrimitives.WriteUInt32LittleEndian(Context[16..], queue);
    }

    private void LoadSkb(ReadOnlySpan<byte> frame, TestRunOptions options)
    {
        int data = Type == KernelProgramType.SocketFilter ? EthernetHeader : 0;
        var given = SkbContext(options, frame.Length - data);
        Reset();
        SkbContextIn = given;
        ushort protocol = (ushort)(frame[12] << 8 | frame[13]);
        int network = frame.Length - EthernetHeader;
        if ((protocol == 0x0800 && network < 20) || (protocol == 0x86dd && network < 40))
        {
            throw new EbpfTestRunException($"the packet's EtherType 0x{protocol:x4} announces an IPv{(protocol == 0x0800 ? 4 : 6)} header, but only {network} bytes follow the Ethernet header; the kernel's test run refuses it (EINVAL)");
        }

        Data = data;
        frame.CopyTo(Buffer);
        DataEnd = frame.Length;
        Meta = Data;
        Protocol = BinaryPrimitives.ReverseEndianness(protocol);
        ReleaseVlan();
        Hash = 0;
        var ctx = Context;
        BinaryPrimitives.WriteUInt32LittleEndian(ctx[SkBuffFields.PktType..], PacketType(frame));
        SocketFieldOffsets.Write(Socket, frame);
        if (given is not null)
        {
            // wire_len counts from where the program's packet starts, as the kernel's test run gives it (checked on
            // Linux 6.18: a socket filter's wire_len is the length from the network header, a tc program's the whole
            // frame's), and only when the run is given a context in: without one the kernel never sets it and
            // programs read 0.
            given.WriteTo(ctx, frame.Length - Data);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ctx[SkBuffFields.Ifindex..], options.Ifindex);
        }
    }

    /// <summary>
    /// Socket buffers: the context the run is given in (the raw one of <see cref="TestRunOptions.SkbContextIn"/>, checked
    /// for a packet of <paramref name="length"/> bytes from where the program's starts, or the one the options' fields
    /// make), null when none goes in.
    /// </summary>
    private static SkBuffIn? SkbContext(TestRunOptions options, int length)
    {
        if (options.SkbContextIn is not { } given)
        {
            var made = options.PassesSkbContext ? SkBuffIn.FromOptions(options) : null;
            made?.CheckDevice(options.Devices);
            return made;
        }

        if (options.SkbMark != 0 || options.SkbPriority != 0 || options.SkbIngressIfindex != 0 || options.Ifindex != 1)
        {
            throw new EbpfTestRunException(
                "a test run given a struct __sk_buff in (SkbContextIn) takes mark, priority, ingress_ifindex and ifindex from it; leave TestRunOptions.SkbMark, SkbPriority, SkbIngressIfindex and Ifindex at their defaults");
        }

        var parsed = SkBuffIn.Parse(given, length);
        parsed.CheckDevice(options.Devices);
        return parsed;
    }

    /// <summary><c>eth_type_trans</c> on the loopback device (address 00:00:00:00:00:00).</summary>
    private static uint PacketType(ReadOnlySpan<byte> frame)
    {
        const uint host = 0, broadcast = 1, multicast = 2, otherHost = 3;
        var destination = frame[..6];
        if ((destination[0] & 1) != 0)
        {
            return destination.IndexOfAnyExcept((byte)0xff) < 0 ? broadcast : multicast;
        }

        return destination.IndexOfAnyExcept((byte)0) < 0 ? host : otherHost;
    }
}
