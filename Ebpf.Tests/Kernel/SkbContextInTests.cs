using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// <see cref="TestRunOptions.SkbContextIn"/>, the raw <c>struct __sk_buff</c> of a tc or socket-filter test run, in the
/// cases kernel-results.txt does not hold (its many kernel-recorded cases run through <c>KernelOracleTests</c>): the
/// size limit, learnt from Linux 6.18 on 2026-12-03 (examples/kernel/skb_ctx.c, tc_ctx_in on udp4_53: 4,096 bytes
/// ending in zeros ran, mark 0x11 read and 0x12 given back; 4,097 zero bytes were refused with E2BIG), and the options
/// that cannot go with a raw context.
/// </summary>
public sealed class SkbContextInTests
{
    /// <summary>A context in of <paramref name="size"/> bytes with <paramref name="mark"/> (bytes 8-11) and, when it is long enough, <paramref name="ifindex"/> (bytes 40-43).</summary>
    private static byte[] Context(int size, uint mark, uint ifindex = 0)
    {
        var context = new byte[size];
        BitConverter.TryWriteBytes(context.AsSpan(8), mark);
        if (size >= 44)
        {
            BitConverter.TryWriteBytes(context.AsSpan(40), ifindex);
        }

        return context;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_context_of_a_page_ending_in_zeros_goes_in_and_one_byte_more_is_refused(string engine)
    {
        using var runtime = KernelOracleCase.Runtime("skb_ctx");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "tc_ctx_in");
        var result = program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { SkbContextIn = Context(4096, 0x11) });
        Assert.Equal(192, result.ContextOut!.Length);
        Assert.Equal(0x12u, BitConverter.ToUInt32(result.ContextOut, 8));
        Assert.Contains("map seen key=00000000 value=11000000", MapSnapshot.Lines(runtime));

        var refused = Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { SkbContextIn = new byte[4097] }));
        Assert.Equal("the context in (struct __sk_buff): it has 4097 bytes, more than the 4096 the kernel reads; the kernel's test run refuses it (E2BIG)", refused.Message);
    }

    [Theory]
    [InlineData(5u, 0u, 0u, 1u)]
    [InlineData(0u, 3u, 0u, 1u)]
    [InlineData(0u, 0u, 2u, 1u)]
    [InlineData(0u, 0u, 0u, 0u)]
    public void The_single_field_options_cannot_go_with_a_raw_context(uint mark, uint priority, uint ingress, uint ifindex)
    {
        using var runtime = KernelOracleCase.Runtime("skb_ctx");
        using var program = KernelProgram.Load(runtime, TestEngines.All[0], "socket_ctx_in");
        var options = new TestRunOptions { SkbContextIn = Context(192, 1), SkbMark = mark, SkbPriority = priority, SkbIngressIfindex = ingress, Ifindex = ifindex };
        var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53"), options));
        Assert.StartsWith("a test run given a struct __sk_buff in (SkbContextIn) takes mark, priority, ingress_ifindex and ifindex from it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_context_leaves_the_next_run_as_it_would_be()
    {
        // the refusal comes before the packet is loaded: a run after it sees its own context only
        using var runtime = KernelOracleCase.Runtime("skb_ctx");
        using var program = KernelProgram.Load(runtime, TestEngines.All[0], "tc_ctx_in");
        Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { SkbContextIn = [1] }));
        var result = program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { SkbContextIn = Context(12, 0x40) });
        Assert.Equal(0x41u, BitConverter.ToUInt32(result.ContextOut!, 8));
    }
    /// <summary>
    /// The device a socket buffer is on must exist: Linux 6.18 (2026-12-03, kern_run --ctx-in on skb_sock's tc_sock and
    /// socket_sock, udp4_53, on a machine with devices 1-4) refused ifindex 99 with ENODEV (also recorded in
    /// kernel-results.txt) and ran ifindex 2 and 3, giving them back in ctx_out. A user-space run has no devices but
    /// those <see cref="TestRunOptions.Devices"/> names: by default only the loopback device (1), so 2 is refused as the
    /// kernel refuses a missing device, and taken once the list has it; the <see cref="TestRunOptions.Ifindex"/> option
    /// is held to the same list.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_ifindex_must_name_a_device_of_the_run(string engine)
    {
        using var runtime = KernelOracleCase.Runtime("skb_sock");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "tc_sock");
        var frame = KernelOracleCase.Frame("udp4_53");
        var refused = Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame, new TestRunOptions { SkbContextIn = Context(192, 0, 2) }));
        Assert.Equal("the context in (struct __sk_buff): ifindex 2 names no device of the run (its devices: 1; TestRunOptions.Devices, ebpf test-run --device); the kernel's test run refuses it (ENODEV)", refused.Message);
        refused = Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame, new TestRunOptions { Ifindex = 3, Devices = [1, 2] }));
        Assert.EndsWith("(ENODEV)", refused.Message, StringComparison.Ordinal);

        var result = program.TestRun(frame, new TestRunOptions { SkbContextIn = Context(192, 0, 2), Devices = [1, 2] });
        Assert.Equal(2u, BitConverter.ToUInt32(result.ContextOut!, 40));
        result = program.TestRun(frame, new TestRunOptions { Ifindex = 3, Devices = [3, 1] });
        Assert.Equal(3u, BitConverter.ToUInt32(result.ContextOut!, 40));

        // 0 is the loopback device, which must be in the list too; ingress_ifindex is not looked up (the kernel took 99)
        Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame, new TestRunOptions { SkbContextIn = Context(192, 0, 0), Devices = [2] }));
        var ingress = Context(192, 0, 1);
        BitConverter.TryWriteBytes(ingress.AsSpan(36), 99u);
        Assert.Equal(99u, BitConverter.ToUInt32(program.TestRun(frame, new TestRunOptions { SkbContextIn = ingress }).ContextOut!, 36));
    }

    [Fact]
    public void A_null_device_list_is_the_projects_error()
    {
        using var runtime = KernelOracleCase.Runtime("skb_sock");
        using var program = KernelProgram.Load(runtime, TestEngines.All[0], "socket_sock");
        var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { SkbContextIn = Context(192, 0, 1), Devices = null! }));
        Assert.StartsWith("TestRunOptions.Devices is null", error.Message, StringComparison.Ordinal);
    }
}
