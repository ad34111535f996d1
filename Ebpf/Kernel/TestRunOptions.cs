namespace Ebpf.Kernel;

/// <summary>What a test run gives the program besides the packet: the context fields a kernel test run fills, and how often to run.</summary>
public sealed record TestRunOptions
{
    /// <summary>The default options (one run, context as the kernel's test run on the loopback device fills it).</summary>
    public static TestRunOptions Default { get; } = new();

    /// <summary>How many times the program runs on the packet (the kernel's <c>repeat</c>): state carries over between runs, as in the kernel; the result is the last run's. At least 1.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>
    /// How many runs warm the code up before the timed ones when <see cref="WarmUp"/> is on: the first run of a program
    /// pays for .NET compiling the run path (and the IL engine its method), and the next one or two still run slower
    /// code than later runs.
    /// </summary>
    public const int WarmUpRuns = 10;

    /// <summary>
    /// A repeated test run of at least this many runs with <see cref="WarmUp"/> on first warms the run path up on the
    /// scratch copy (once per loaded program; see <see cref="TieringWarmUp"/> and <see cref="WarmUp"/>).
    /// </summary>
    public const int TieringWarmUpRepeat = 100_000;

    /// <summary>
    /// How long the scratch copy runs at least before the first long repeated test run of a program (see
    /// <see cref="TieringWarmUpRepeat"/>); it then goes on until .NET has compiled no method for 250 ms (its tiered
    /// compilation has settled), 3 seconds at most.
    /// </summary>
    public static readonly TimeSpan TieringWarmUp = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Whether the reported time leaves out the first-run costs the kernel does not have (see <see cref="WarmUpRuns"/>),
    /// so that it can be set beside the kernel's <c>duration_ns</c>. Default true. With <see cref="Repeat"/> above 1
    /// the first runs (up to <see cref="WarmUpRuns"/>, at most <see cref="Repeat"/> - 1) are not timed (they run, with
    /// their effects, like the others) and the time is the mean of the rest. A single run is timed on a scratch copy:
    /// the program loaded a second time (same object, engine, type and options, the first time it is needed) into a
    /// runtime of its own whose key-value maps start as copies of the real ones, run <see cref="WarmUpRuns"/> times
    /// untimed there the first time and then once timed on the same packet; the run whose result is returned is not
    /// timed, and the copy's runs change nothing the caller sees (helpers given in
    /// <see cref="Elf.ElfRuntimeOptions.ExtraHelpers"/> are called by them too; trace output is off). The first repeated
    /// test run of a loaded program with at least <see cref="TieringWarmUpRepeat"/> runs first runs that copy until .NET's
    /// tiered compilation has settled (see <see cref="TieringWarmUp"/>), so that the timed runs run the run path as .NET finally compiles it (optimised)
    /// rather than its first, unoptimised code. False: every run is timed, a cold first run included.
    /// </summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>
    /// Socket buffers: whether the test run gives the program's <c>struct __sk_buff</c> in and back as the kernel's
    /// <c>ctx_in</c> and <c>ctx_out</c> (the kernel oracle's <c>--ctx-out</c>; also implied by <see cref="SkbContextIn"/>
    /// and by a non-default <see cref="SkbMark"/>, <see cref="SkbPriority"/>, <see cref="SkbIngressIfindex"/> or
    /// <see cref="Ifindex"/> above 1, which only a context in can carry). As in Linux 6.18's test run, <c>wire_len</c> is
    /// then the packet's length (from where the program's packet starts) unless the context in gives one, and
    /// <see cref="TestRunResult.ContextOut"/> the structure the kernel gives back; without a context in the kernel never
    /// sets <c>wire_len</c> and a program reads 0 there. Default false. Ignored for XDP programs.
    /// </summary>
    public bool SkbContext { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.mark</c> (the kernel oracle's <c>--skb-mark</c>). Default 0.</summary>
    public uint SkbMark { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.priority</c>. Default 0.</summary>
    public uint SkbPriority { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ingress_ifindex</c>. Default 0, as in the kernel's test run.</summary>
    public uint SkbIngressIfindex { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ifindex</c>, the device the packet is on. Default 1 (the loopback device the kernel's test run uses); another must be one of <see cref="Devices"/>.</summary>
    public uint Ifindex { get; init; } = 1;

    /// <summary>
    /// The indexes of the network devices the run's network namespace has (a user-space run has none of its own: this
    /// stands for the namespace the kernel's test run looks devices up in). Default only 1, the loopback device. As
    /// Linux 6.18's test run (checked with BPF_PROG_TEST_RUN: a context in with <c>ifindex</c> or XDP
    /// <c>ingress_ifindex</c> 99 is refused with ENODEV, the indexes of existing devices are taken): socket buffers, an
    /// <c>ifindex</c> (<see cref="Ifindex"/>, or the context in's; 0 means 1) that is not in the list makes the test run
    /// throw <see cref="EbpfTestRunException"/>, their <c>ingress_ifindex</c> is not looked up (the kernel takes any);
    /// XDP, the <c>ingress_ifindex</c> of an <see cref="XdpContextIn"/> (when not 0) must be in the list (the receive
    /// queue of a device other than 1 is not checked: the run does not know how many the device has). The packet still
    /// runs as on the loopback device (<c>pkt_type</c> from its all-zero address), whatever device is named.
    /// </summary>
    public IReadOnlyList<uint> Devices { get; init; } = [1];

    /// <summary>
    /// XDP without <see cref="XdpContextIn"/>: <c>xdp_md.ingress_ifindex</c>. Default 1 (the loopback device the kernel's
    /// test run uses). With a context in, its <c>ingress_ifindex</c> counts and this must stay 1.
    /// </summary>
    public uint IngressIfindex { get; init; } = 1;

    /// <summary>XDP without <see cref="XdpContextIn"/>: <c>xdp_md.rx_queue_index</c>. Default 0. With a context in, its <c>rx_queue_index</c> counts and this must stay 0.</summary>
    public uint RxQueueIndex { get; init; }

    /// <summary>
    /// XDP: the <c>struct xdp_md</c> the test run is given as the kernel's <c>ctx_in</c> (24 bytes, little-endian u32
    /// fields data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; shorter is filled with zeros,
    /// longer must end in zero bytes and have at most 4,096: E2BIG), null for none. As in Linux 6.18's test run: <c>data</c> is the length of the
    /// metadata, taken from the front of the packet bytes (a multiple of 4, at most 216); <c>data_end</c> is where the
    /// linear part of the frame ends, counted from the metadata (at most the bytes given; 0 puts the whole frame into
    /// page fragments; the linear part is capped at 3,520 bytes, the rest goes into fragments);
    /// <c>data_meta</c> and <c>egress_ifindex</c> must be 0; <c>ingress_ifindex</c> 0 keeps the loopback device (a
    /// <c>rx_queue_index</c> then must be 0), 1 is the loopback device (one receive queue: <c>rx_queue_index</c> 0),
    /// another index must be one of <see cref="Devices"/> (else ENODEV, as the kernel answers for a device its
    /// namespace lacks) and is taken with the queue given (the kernel also answers EINVAL for a queue the device lacks). The run gives back
    /// <see cref="TestRunResult.ContextOut"/>. A context the kernel refuses makes the test run throw
    /// <see cref="EbpfTestRunException"/>. Ignored by socket-buffer programs (see <see cref="SkbContextIn"/>).
    /// </summary>
    public byte[]? XdpContextIn { get; init; }

    /// <summary>
    /// XDP: whether the run gives its <c>struct xdp_md</c> back (<see cref="TestRunResult.ContextOut"/>), as the kernel's
    /// <c>ctx_out</c>; implied by <see cref="XdpContextIn"/>. Without a context in, the run is given a zeroed
    /// <c>xdp_md</c>, as the kernel makes one when only <c>ctx_out</c> is asked: its <c>data_end</c> of 0 puts the whole
    /// frame into page fragments (checked on Linux 6.18). Default false.
    /// </summary>
    public bool XdpContextOut { get; init; }

    /// <summary>
    /// Socket buffers (tc, socket filter): the <c>struct __sk_buff</c> the test run is given as the kernel's
    /// <c>ctx_in</c> (192 bytes, linux/bpf.h's layout, little-endian; shorter is filled with zeros, longer must end in
    /// zero bytes and have at most 4,096: E2BIG), null for none. As in Linux 6.18's test run, only mark, priority,
    /// ingress_ifindex, ifindex, cb[0..4], tstamp, wire_len, gso_segs, gso_size and hwtstamp may be non-zero (EINVAL);
    /// <c>ifindex</c> 0 or 1 is the loopback device (the program reads 1), another index must be one of
    /// <see cref="Devices"/> (as the kernel looks it up in the caller's network namespace and answers ENODEV when it lacks
    /// it; the library runs the packet as on the loopback device); <c>wire_len</c> 0 is the packet's length, another must lie between
    /// that length and 65,536; <c>gso_segs</c> is at most 65,535 (EINVAL). The program reads every field as given, and
    /// the run gives back <see cref="TestRunResult.ContextOut"/>. With a context in, <see cref="SkbMark"/>,
    /// <see cref="SkbPriority"/>, <see cref="SkbIngressIfindex"/> and <see cref="Ifindex"/> must stay at their
    /// defaults (its fields count). A context the kernel refuses makes the test run throw
    /// <see cref="EbpfTestRunException"/>. Ignored by XDP programs (see <see cref="XdpContextIn"/>).
    /// </summary>
    public byte[]? SkbContextIn { get; init; }

    /// <summary>Whether an XDP test run passes a context in (see <see cref="XdpContextIn"/> and <see cref="XdpContextOut"/>).</summary>
    internal bool PassesXdpContext => XdpContextIn is not null || XdpContextOut;

    /// <summary>Whether a socket-buffer test run passes a context in (see <see cref="SkbContext"/>).</summary>
    internal bool PassesSkbContext => SkbContext || SkbContextIn is not null || SkbMark != 0 || SkbPriority != 0 || SkbIngressIfindex != 0 || Ifindex > 1;
}
