namespace Ebpf.Kernel;

/// <summary>What a test run gives back, as the kernel's <c>BPF_PROG_TEST_RUN</c> does.</summary>
/// <param name="ReturnValue">The program's verdict (r0 as the kernel reports it: its low 32 bits), e.g. XDP_PASS = 2 or TC_ACT_OK = 0.</param>
/// <param name="Output">The packet after the run (XDP: from the metadata on; socket filters: the MAC header's bytes are zeros, as the kernel reports them).</param>
/// <param name="DurationNanoseconds">The mean time of one run in nanoseconds (over <see cref="TestRunOptions.Repeat"/> runs): on Linux the running thread's CPU time, which leaves out time spent waiting for a CPU as the kernel's count leaves out the time it yields; elsewhere the elapsed time.</param>
/// <param name="Redirect">Where bpf_redirect or bpf_redirect_map sent the packet in the last run, null if nowhere.</param>
/// <param name="Context">The context structure after the last run (<c>struct xdp_md</c> or <c>struct __sk_buff</c> with the fields the run fills; packet pointer fields are 0).</param>
/// <param name="ContextOut">
/// Socket buffers given a context in (<see cref="TestRunOptions.SkbContextIn"/> or <see cref="TestRunOptions.SkbContext"/>):
/// the <c>struct __sk_buff</c> the kernel's test run gives back as <c>ctx_out</c> (192 bytes): the context in, with mark,
/// priority, ifindex (1 for the loopback device when 0 went in), cb[0..4], tstamp, wire_len (the packet's length when
/// 0 went in), gso_segs and hwtstamp as the run left them and every other field as it went in (0 unless given: the
/// kernel does not copy back what a program wrote to queue_mapping, tc_index or tc_classid). XDP programs given a context in (<see cref="TestRunOptions.XdpContextIn"/> or
/// <see cref="TestRunOptions.XdpContextOut"/>): the <c>struct xdp_md</c> the kernel gives back (24 bytes): <c>data</c> the
/// metadata's length and <c>data_end</c> the end of the linear part, both counted from the metadata as the run left them,
/// <c>data_meta</c> 0, <c>ingress_ifindex</c> and <c>rx_queue_index</c> as they went in, <c>egress_ifindex</c> 0. Null when no context went in.
/// </param>
public sealed record TestRunResult(uint ReturnValue, byte[] Output, long DurationNanoseconds, PacketRedirect? Redirect, byte[] Context, byte[]? ContextOut = null)
{
    /// <summary>
    /// The result line in the format of the kernel oracle and <c>bpftool prog run</c> based tools:
    /// <c>retval=R size_out=N data_out=HEX duration_ns=D</c>, followed by <c> ctx_out=HEX</c> when there is a
    /// <see cref="ContextOut"/>, as the kernel oracle prints it.
    /// </summary>
    public string ToLine() =>
        $"retval={ReturnValue} size_out={Output.Length} data_out={Convert.ToHexStringLower(Output)} duration_ns={DurationNanoseconds}"
        + (ContextOut is null ? string.Empty : $" ctx_out={Convert.ToHexStringLower(ContextOut)}");
}
