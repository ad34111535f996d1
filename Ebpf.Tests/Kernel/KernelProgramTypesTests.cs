using Ebpf.Kernel;

namespace Ebpf.Tests.Kernel;

/// <summary>The program type of a section follows libbpf's section names.</summary>
public sealed class KernelProgramTypesTests
{
    [Theory]
    [InlineData("xdp", KernelProgramType.Xdp)]
    [InlineData("xdp.frags", KernelProgramType.Xdp)]
    [InlineData("xdp/devmap", KernelProgramType.Xdp)]
    [InlineData("xdp.frags/cpumap", KernelProgramType.Xdp)]
    [InlineData("xdp_icmp_echo", KernelProgramType.Xdp)]
    [InlineData("tc", KernelProgramType.SchedCls)]
    [InlineData("tc/ingress", KernelProgramType.SchedCls)]
    [InlineData("classifier", KernelProgramType.SchedCls)]
    [InlineData("classifier/egress", KernelProgramType.SchedCls)]
    [InlineData("tcx/ingress", KernelProgramType.SchedCls)]
    [InlineData("socket", KernelProgramType.SocketFilter)]
    [InlineData("socket/filter", KernelProgramType.SocketFilter)]
    public void Libbpf_section_names_give_the_type(string section, KernelProgramType type) =>
        Assert.Equal(type, KernelProgramTypes.FromSection(section));

    [Theory]
    [InlineData(".text")]
    [InlineData("tcp")]
    [InlineData("classifiers")]
    [InlineData("sockets")]
    [InlineData("kprobe/sys_open")]
    [InlineData("")]
    [InlineData(null)]
    public void Other_sections_have_no_kernel_type(string? section) => Assert.Null(KernelProgramTypes.FromSection(section));

    [Theory]
    [InlineData("xdp", KernelProgramType.Xdp)]
    [InlineData("TC", KernelProgramType.SchedCls)]
    [InlineData("sched_cls", KernelProgramType.SchedCls)]
    [InlineData("classifier", KernelProgramType.SchedCls)]
    [InlineData("socket_filter", KernelProgramType.SocketFilter)]
    public void Type_names_parse(string name, KernelProgramType type) => Assert.Equal(type, KernelProgramTypes.Parse(name));

    [Fact]
    public void An_unknown_type_name_is_an_argument_error() =>
        Assert.Contains("kprobe", Assert.Throws<ArgumentException>(() => KernelProgramTypes.Parse("kprobe")).Message, StringComparison.Ordinal);
}
