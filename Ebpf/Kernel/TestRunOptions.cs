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
    /// A repeated test run of at least this many runs with <see cref="WarmUp"/> on first warms the run path up for
    /// <see cref="TieringWarmUp"/> on the scratch copy (once per loaded program): see <see cref="WarmUp"/>.
    /// </summary>
    public const int TieringWarmUpRepeat = 100_000;

    /// <summary>How long the scratch copy runs before the first long repeated test run of a program (see <see cref="TieringWarmUpRepeat"/>).</summary>
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
    /// test run of a loaded program with at least <see cref="TieringWarmUpRepeat"/> runs first runs that copy for
    /// <see cref="TieringWarmUp"/>, so that the timed runs run the run path as .NET finally compiles it (optimised)
    /// rather than its first, unoptimised code. False: every run is timed, a cold first run included.
    /// </summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>
    /// Socket buffers: whether the test run gives the program's <c>struct __sk_buff</c> in and back as the kernel's
    /// <c>ctx_in</c> and <c>ctx_out</c> (the kernel oracle's <c>--ctx-out</c>; also implied by a non-default
    /// <see cref="SkbMark"/>, <see cref="SkbPriority"/>, <see cref="SkbIngressIfindex"/> or <see cref="Ifindex"/> above 1,
    /// which only a context in can carry). As in Linux 6.18's test run, <c>wire_len</c> is then the packet's length (from
    /// where the program's packet starts) and <see cref="TestRunResult.ContextOut"/> the structure the kernel gives
    /// back; without a context in the kernel never sets <c>wire_len</c> and a program reads 0 there. Default false.
    /// Ignored for XDP programs.
    /// </summary>
    public bool SkbContext { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.mark</c> (the kernel oracle's <c>--skb-mark</c>). Default 0.</summary>
    public uint SkbMark { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.priority</c>. Default 0.</summary>
    public uint SkbPriority { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ingress_ifindex</c>. Default 0, as in the kernel's test run.</summary>
    public uint SkbIngressIfindex { get; init; }

    /// <summary>Socket buffers: <c>__sk_buff.ifindex</c>, the device the packet is on. Default 1 (the loopback device the kernel's test run uses).</summary>
    public uint Ifindex { get; init; } = 1;

    /// <summary>XDP: <c>xdp_md.ingress_ifindex</c>. Default 1 (the loopback device the kernel's test run uses).</summary>
    public uint IngressIfindex { get; init; } = 1;

    /// <summary>XDP: <c>xdp_md.rx_queue_index</c>. Default 0.</summary>
    public uint RxQueueIndex { get; init; }

    /// <summary>Whether a socket-buffer test run passes a context in (see <see cref="SkbContext"/>).</summary>
    internal bool PassesSkbContext => SkbContext || SkbMark != 0 || SkbPriority != 0 || SkbIngressIfindex != 0 || Ifindex > 1;
}
