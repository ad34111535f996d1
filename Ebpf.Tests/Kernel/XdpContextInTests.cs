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
}
