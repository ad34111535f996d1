using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// <see cref="TestRunOptions.XdpContextIn"/> at the page limit every context in has, learnt from Linux 6.18 on
/// 2026-12-03 (examples/kernel/xdp_pass.o on a 64-byte frame through BPF_PROG_TEST_RUN: a context in of 4,095 and 4,096
/// zero bytes ran, 4,097 zero bytes were refused with E2BIG, as a socket buffer's are, see <see cref="SkbContextInTests"/>).
/// </summary>
public sealed class XdpContextInTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_context_of_a_page_of_zeros_goes_in_and_one_byte_more_is_refused(string engine)
    {
        using var runtime = KernelOracleCase.Runtime("xdp_pass");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_pass");
        var result = program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { XdpContextIn = new byte[4096] });
        Assert.Equal(2u, result.ReturnValue);

        var refused = Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53"), new TestRunOptions { XdpContextIn = new byte[4097] }));
        Assert.Equal("the context in (struct xdp_md): it has 4097 bytes, more than the 4096 the kernel reads; the kernel's test run refuses it (E2BIG)", refused.Message);
    }

    /// <summary>
    /// An XDP context in's <c>ingress_ifindex</c> must name a device: Linux 6.18 (2026-12-03, kern_run --ctx-in on
    /// xdp_pass, udp4_53, on a machine with devices 1-4) refused 99 with ENODEV, ran 4 with queue 0 (giving 4 back in
    /// ctx_out) and refused 4 with queue 5 (EINVAL: that device has fewer queues). A user-space run has the devices
    /// <see cref="TestRunOptions.Devices"/> names, only the loopback device (1) by default; 0 names no device and is
    /// not looked up.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_ingress_ifindex_must_name_a_device_of_the_run(string engine)
    {
        using var runtime = KernelOracleCase.Runtime("xdp_pass");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_pass");
        var frame = KernelOracleCase.Frame("udp4_53");
        var refused = Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame, new TestRunOptions { XdpContextIn = Md(99) }));
        Assert.Equal("the context in (struct xdp_md): ingress_ifindex 99 names no device of the run (its devices: 1; TestRunOptions.Devices, ebpf test-run --device); the kernel's test run refuses it (ENODEV)", refused.Message);
        Assert.EndsWith("(ENODEV)", Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame, new TestRunOptions { XdpContextIn = Md(4) })).Message, StringComparison.Ordinal);

        var result = program.TestRun(frame, new TestRunOptions { XdpContextIn = Md(4), Devices = [1, 4] });
        Assert.Equal(2u, result.ReturnValue);
        Assert.Equal(4u, BitConverter.ToUInt32(result.ContextOut!, 12));
        Assert.Equal(1u, BitConverter.ToUInt32(program.TestRun(frame, new TestRunOptions { XdpContextIn = Md(1) }).ContextOut!, 12));
        Assert.Equal(0u, BitConverter.ToUInt32(program.TestRun(frame, new TestRunOptions { XdpContextIn = Md(0), Devices = [2] }).ContextOut!, 12));

        // a struct xdp_md in with only ingress_ifindex set: data 0, data_end 0 (the whole frame in fragments)
        static byte[] Md(uint ingress)
        {
            var md = new byte[24];
            BitConverter.TryWriteBytes(md.AsSpan(12), ingress);
            return md;
        }
    }
}
