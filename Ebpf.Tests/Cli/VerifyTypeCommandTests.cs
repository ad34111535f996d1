namespace Ebpf.Tests.Cli;

/// <summary>
/// <c>ebpf verify --type</c>: kernel programs are analysed with their type's context layout and helpers, the type taken
/// from the ELF section as <c>KernelProgram</c> takes it unless given; <c>--type raw</c> is the raw memory model.
/// </summary>
public class VerifyTypeCommandTests
{
    private const string EtherTypeOrDrop = "ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov r0, 1\nmov r4, r2\nadd r4, 20\njgt r4, r3, +1\nldxh r0, [r2+12]\nexit\n";

    [Fact]
    public void A_kernel_object_is_analysed_with_the_context_of_its_sections_type()
    {
        var result = Tool.Run("verify", Tool.Example(Path.Combine("kernel", "xdp_parse.o")), "--strict");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.EndsWith(": ok (263 slots, 1 function(s)); Xdp program (xdp_md context); proven safe: 54 of 54 memory accesses proven, 0 unproven point(s), 0 error(s)", result.OutLines[^1]);

        var tc = Tool.Run("verify", Tool.Example(Path.Combine("kernel", "tc_skb.o")), "--section", "tc_vlan", "--strict");
        Assert.Equal(0, tc.ExitCode);
        Assert.Contains("; SchedCls program (__sk_buff context); proven safe: 20 of 20 memory accesses proven", tc.Out);
    }

    [Fact]
    public void Type_raw_analyses_a_kernel_object_in_the_raw_memory_model()
    {
        var result = Tool.Run("verify", Tool.Example(Path.Combine("kernel", "xdp_parse.o")), "--type", "raw");
        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("context", result.Out);
        Assert.DoesNotContain("54 of 54", result.Out);
        Assert.Equal(1, Tool.Run("verify", Tool.Example(Path.Combine("kernel", "xdp_parse.o")), "--type", "raw", "--strict").ExitCode);
    }

    [Fact]
    public void An_assembly_program_is_analysed_as_the_type_given()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("ethertype.s", EtherTypeOrDrop);
        var xdp = Tool.Run("verify", path, "--type", "xdp", "--strict");
        Assert.Equal((0, ""), (xdp.ExitCode, xdp.Err));
        Assert.EndsWith("; Xdp program (xdp_md context); proven safe: 3 of 3 memory accesses proven, 0 unproven point(s), 0 error(s)", xdp.OutLines[^1]);

        // In the raw memory model r1 is the packet: the loads at 0 and 4 are unchecked input reads, r2 a loaded number.
        var raw = Tool.Run("verify", path, "--strict");
        Assert.Equal(1, raw.ExitCode);
        Assert.DoesNotContain("context", raw.OutLines[^1]);
    }

    [Fact]
    public void A_raw_model_program_in_a_kernel_section_stays_in_the_raw_model_unless_the_type_is_given()
    {
        // block_port.o (section xdp) is written for `ebpf run`: r1 = packet, r2 = its length, which the kernel leaves unset.
        var result = Tool.Run("verify", Tool.Example("block_port.o"), "--strict");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Contains("; raw memory model (with the xdp context it has ", result.Out);
        Assert.Contains("; --type xdp analyses it so); proven safe: 20 of 20", result.Out);

        var forced = Tool.Run("verify", Tool.Example("block_port.o"), "--type", "xdp");
        Assert.Equal(1, forced.ExitCode);
        Assert.Contains(": unsafe in hybrid mode; Xdp program (xdp_md context) (", forced.OutLines[^1]);
    }

    [Theory]
    [InlineData("xdp_egress", "xdp", null)]
    [InlineData("cpumap_egress", "xdp/cpumap", null)]
    [InlineData("xdp_egress", "xdp", "xdp")]
    public void Reading_egress_ifindex_outside_a_devmap_program_is_refused_as_the_load_refuses_it(string name, string section, string? type)
    {
        // Linux 6.18 refuses both at load: "0: (61) r1 = *(u32 *)(r1 +20) invalid bpf_context access off=20 size=4"
        string[] typeOption = type is null ? [] : ["--type", type];
        var result = Tool.Run(["verify", Tool.Example(Path.Combine("kernel", "xdp_devmap.o")), "--section", name, .. typeOption]);
        Assert.Equal((1, ""), (result.ExitCode, result.Err));
        Assert.StartsWith("0: ldxw r", result.OutLines[0], StringComparison.Ordinal);
        Assert.EndsWith(", [r1+20]", result.OutLines[0], StringComparison.Ordinal);
        Assert.Equal("    refused at load: invalid bpf_context access off=20 size=4: only a devmap program (section xdp/devmap or xdp.frags/devmap, expected attach type BPF_XDP_DEVMAP) may access xdp_md.egress_ifindex", result.OutLines[1]);
        Assert.Contains($" {name} (section {section}): refused at load; Xdp program (xdp_md context) (", result.OutLines[^1], StringComparison.Ordinal);

        // the same with --strict: the access itself is proven, the load still refuses it
        var strict = Tool.Run(["verify", Tool.Example(Path.Combine("kernel", "xdp_devmap.o")), "--section", name, "--strict", .. typeOption]);
        Assert.Equal(1, strict.ExitCode);
        Assert.Contains(": refused at load; Xdp program", strict.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_devmap_program_may_read_egress_ifindex_and_a_bytecode_program_is_refused_by_its_type()
    {
        var devmap = Tool.Run("verify", Tool.Example(Path.Combine("kernel", "xdp_devmap.o")), "--section", "devmap_egress", "--strict");
        Assert.Equal((0, ""), (devmap.ExitCode, devmap.Err));
        Assert.DoesNotContain("refused", devmap.Out, StringComparison.Ordinal);

        using var folder = new Tool.TempFolder();
        string path = folder.Write("egress.s", "mov r0, 0\nldxw r0, [r1+20]\nexit\n");
        var xdp = Tool.Run("verify", path, "--type", "xdp");
        Assert.Equal(1, xdp.ExitCode);
        Assert.Equal("1: ldxw r0, [r1+20]", xdp.OutLines[0]);
        Assert.StartsWith("    refused at load: invalid bpf_context access off=20 size=4: only a devmap program", xdp.OutLines[1], StringComparison.Ordinal);

        // offset 20 of a tc program's __sk_buff is vlan_present, which any tc program may read
        var tc = Tool.Run("verify", path, "--type", "tc");
        Assert.Equal((0, ""), (tc.ExitCode, tc.Err));
        Assert.DoesNotContain("refused at load", tc.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("xdp", "ldxdw r0, [r1+24]", "off=24 size=8: 8 bytes at offset 24 is outside the 24-byte xdp_md")]
    [InlineData("tc", "ldxdw r0, [r1+192]", "off=192 size=8: 8 bytes at offset 192 is outside the 192-byte __sk_buff")]
    [InlineData("tc", "ldxw r0, [r1+152]", "off=152 size=4: 4 bytes at offset 152 does not match field tstamp (offset 152, 8 bytes) of __sk_buff; accesses must hit a field exactly")]
    [InlineData("tc", "stxh [r1+8], r1", "off=8 size=2: 2 bytes at offset 8 does not match field mark (offset 8, 4 bytes) of __sk_buff; a store writes a whole field")]
    [InlineData("socket", "ldxb r0, [r1+180]", "off=180 size=1: 1 byte at offset 180 is not a field of __sk_buff")]
    public void A_context_access_the_kernel_refuses_is_reported_as_refused_at_load(string type, string access, string refusal)
    {
        // Linux 6.18 refuses each: "0: ... invalid bpf_context access off=24 size=8" (off=192 size=8, off=152 size=4,
        // off=8 size=2, off=180 size=1). The analysis refutes the same access by the same rule: the refusal is said once
        // and the program is "refused at load".
        using var folder = new Tool.TempFolder();
        string path = folder.Write("access.s", $"{access}\nmov r0, 0\nexit\n");
        foreach (string[] strict in (string[][])[[], ["--strict"]])
        {
            var result = Tool.Run(["verify", path, "--type", type, .. strict]);
            Assert.Equal((1, ""), (result.ExitCode, result.Err));
            Assert.Equal($"0: {access}", result.OutLines[0]);
            Assert.Equal($"    refused at load: invalid bpf_context access {refusal}", result.OutLines[1]);
            Assert.Equal(3, result.OutLines.Length);
            Assert.Contains(": refused at load; ", result.OutLines[2], StringComparison.Ordinal);
            Assert.EndsWith(", 1 error(s))", result.OutLines[2], StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("tc", "ldxdw r0, [r1+48]")] // cb[0..1] as one 8-byte word
    [InlineData("tc", "stxdw [r1+56], r0")]
    [InlineData("tc", "stxb [r1+67], r0")]
    [InlineData("tc", "ldxdw r0, [r1+168]")] // sk
    [InlineData("tc", "ldxb r0, [r1+180]")] // tstamp_type
    [InlineData("socket", "ldxdw r0, [r1+168]")]
    [InlineData("socket", "stxdw [r1+48], r0")]
    public void A_context_access_the_kernel_loads_is_proven(string type, string access)
    {
        // Linux 6.18 loads each (2026-12-03); the analysis, which used to refute them, proves them now
        using var folder = new Tool.TempFolder();
        string path = folder.Write("access.s", $"mov r0, 0\n{access}\nmov r0, 0\nexit\n");
        var result = Tool.Run("verify", path, "--type", type, "--strict");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.EndsWith("proven safe: 1 of 1 memory accesses proven, 0 unproven point(s), 0 error(s)", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_type_is_a_usage_error()
    {
        var result = Tool.Run("verify", Tool.Example("tcp_port.s"), "--type", "kprobe");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ebpf: error: unknown program type 'kprobe' (xdp, tc, socket, raw)", result.Err.TrimEnd());
    }
}
