using Ebpf.Assembly;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// <c>xdp_md.egress_ifindex</c> and the XDP programs that run from a map (examples/kernel/xdp_devmap.c). What Linux 6.18
/// did (kern_run, 2026-12-03): <c>xdp_egress</c> (section <c>xdp</c>) and <c>cpumap_egress</c> (<c>xdp/cpumap</c>),
/// which read <c>ctx-&gt;egress_ifindex</c>, are refused at load with "0: (61) r1 = *(u32 *)(r1 +20) invalid
/// bpf_context access off=20 size=4"; <c>devmap_egress</c> (<c>xdp/devmap</c>) and <c>devmap_frags_egress</c>
/// (<c>xdp.frags/devmap</c>) load, and so does <c>cpumap_pass</c>, but BPF_PROG_TEST_RUN refuses all three with EINVAL
/// (kernel-results.txt).
/// </summary>
public sealed class DevmapProgramTests
{
    private static ElfRuntime Runtime() => KernelOracleCase.Runtime("xdp_devmap");

    [Theory]
    [MemberData(nameof(Programs))]
    public void Reading_egress_ifindex_outside_a_devmap_program_is_refused_at_load(string engine, string name)
    {
        using var runtime = Runtime();
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(runtime, TestEngines.Get(engine), name));
        Assert.StartsWith($"program '{name}' at pc 0: invalid bpf_context access off=20 size=4: only a devmap program", error.Message, StringComparison.Ordinal);
        Assert.Contains("xdp_md.egress_ifindex", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Programs()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, "xdp_egress");
            data.Add(engine.Name, "cpumap_egress");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Devmap_programs_load_and_map_programs_are_refused_by_the_test_run_as_in_the_kernel(string engine)
    {
        foreach (var (name, attach) in new[] { ("devmap_egress", "BPF_XDP_DEVMAP"), ("devmap_frags_egress", "BPF_XDP_DEVMAP"), ("cpumap_pass", "BPF_XDP_CPUMAP") })
        {
            using var runtime = Runtime();
            using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), name);
            Assert.Equal(KernelProgramType.Xdp, program.Type);
            var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(KernelOracleCase.Frame("udp4_53")));
            Assert.Contains($"has expected attach type {attach}", error.Message, StringComparison.Ordinal);
            Assert.Contains("the kernel's test run refuses such programs (EINVAL)", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_section_of_a_bytecode_program_decides_too(string engine)
    {
        // r0 = ctx->egress_ifindex; exit
        var code = Assembler.Assemble("ldxw r0, [r1+20]\nexit");
        var plain = EbpfProgram.Create(code, StructuralOnlyVerifier.Instance, "egress", "xdp");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(plain, KernelProgramType.Xdp, LinuxHelpers.Register(new ProgramEnvironment()), TestEngines.Get(engine)));
        Assert.StartsWith("program 'egress' at pc 0: invalid bpf_context access off=20 size=4", error.Message, StringComparison.Ordinal);

        var devmap = EbpfProgram.Create(code, StructuralOnlyVerifier.Instance, "egress", "xdp/devmap");
        using var loaded = KernelProgram.Load(devmap, KernelProgramType.Xdp, LinuxHelpers.Register(new ProgramEnvironment()), TestEngines.Get(engine));
        Assert.Throws<EbpfTestRunException>(() => loaded.TestRun(KernelOracleCase.Frame("udp4_53")));

        // the other xdp_md fields stay readable in any XDP program
        var ingress = EbpfProgram.Create(Assembler.Assemble("ldxw r0, [r1+12]\nexit"), StructuralOnlyVerifier.Instance, "ingress", "xdp");
        using var reads = KernelProgram.Load(ingress, KernelProgramType.Xdp, LinuxHelpers.Register(new ProgramEnvironment()), TestEngines.Get(engine));
        Assert.Equal(1u, reads.TestRun(KernelOracleCase.Frame("udp4_53")).ReturnValue);
    }

    [Theory]
    [InlineData("xdp/devmap", "BPF_XDP_DEVMAP")]
    [InlineData("xdp.frags/devmap", "BPF_XDP_DEVMAP")]
    [InlineData("xdp/cpumap", "BPF_XDP_CPUMAP")]
    [InlineData("xdp.frags/cpumap", "BPF_XDP_CPUMAP")]
    [InlineData("xdp", null)]
    [InlineData("xdp.frags", null)]
    [InlineData("xdp/devmap/extra", null)]
    [InlineData("xdp_devmap", null)]
    [InlineData(null, null)]
    public void The_expected_attach_type_follows_libbpfs_section_names(string? section, string? attach)
    {
        Assert.Equal(attach, KernelProgramTypes.XdpMapAttachType(section));
        if (section is not null)
        {
            Assert.Equal(KernelProgramType.Xdp, KernelProgramTypes.FromSection(section));
        }
    }
}
