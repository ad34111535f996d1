using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

public class RunCommandTests
{
    private static readonly string TcpPortExample = Tool.Example("tcp_port.s");

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_example_parser_returns_the_tcp_destination_port(string engine)
    {
        var result = Tool.Run("run", TcpPortExample, "--mem-hex", Convert.ToHexString(Tool.TcpPacket(8080)), "--engine", engine);
        Assert.Equal((0, "r0 = 0x1f90 (8080)\n", ""), (result.ExitCode, result.Out.ReplaceLineEndings("\n"), result.Err));
    }

    [Fact]
    public void Memory_comes_from_a_file()
    {
        using var folder = new Tool.TempFolder();
        string packet = folder.Write("packet.bin", Tool.TcpPacket(443));
        var result = Tool.Run("run", TcpPortExample, "--mem", packet);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["r0 = 0x1bb (443)"], result.OutLines);
    }

    [Fact]
    public void The_example_returns_0_for_a_udp_packet_and_for_no_memory()
    {
        Assert.Equal(["r0 = 0x0 (0)"], Tool.Run("run", TcpPortExample, "--mem-hex", Convert.ToHexString(Tool.TcpPacket(53, protocol: 17))).OutLines);
        Assert.Equal(["r0 = 0x0 (0)"], Tool.Run("run", TcpPortExample).OutLines);
    }

    [Fact]
    public void Hex_memory_may_be_spaced_or_prefixed()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("len.s", "mov r0, r2\nexit\n");
        Assert.Equal(["r0 = 0x3 (3)"], Tool.Run("run", program, "--mem-hex", "00 01 ff").OutLines);
        Assert.Equal(["r0 = 0x4 (4)"], Tool.Run("run", program, "--mem-hex", "0x0001ff10").OutLines);
    }

    [Fact]
    public void A_conformance_test_runs_on_its_own_memory_unless_memory_is_given()
    {
        string path = Path.Combine(ConformanceSuite.TestsDirectory, "mem-len.data");
        Assert.Equal(["r0 = 0x8 (8)"], Tool.Run("run", path).OutLines);
        Assert.Equal(["r0 = 0x3 (3)"], Tool.Run("run", path, "--mem-hex", "01 02 03").OutLines);
    }

    [Fact]
    public void Raw_bytecode_runs_and_negative_results_show_the_signed_value()
    {
        using var folder = new Tool.TempFolder();
        // mov r0, -1 (b7 00 00 00 ff ff ff ff); exit (95 ...)
        string path = folder.Write("minus1.bin", new byte[] { 0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x95, 0, 0, 0, 0, 0, 0, 0 });
        var result = Tool.Run("run", path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["r0 = 0xffffffffffffffff (18446744073709551615, signed -1)"], result.OutLines);
    }

    [Fact]
    public void The_auto_policy_runs_on_the_fastest_engine()
    {
        var result = Tool.Run("run", TcpPortExample, "--mem-hex", Convert.ToHexString(Tool.TcpPacket(22)), "--engine", "auto");
        Assert.Equal(["r0 = 0x16 (22)"], result.OutLines);
    }

    [Fact]
    public void Trace_printk_writes_to_the_output()
    {
        using var folder = new Tool.TempFolder();
        // bpf_trace_printk (helper 6) as rbpf has it: prints r3, r4 and r5 in hex.
        string path = folder.Write("trace.s", "mov r1, 0\nmov r2, 0\nmov r3, 1\nmov r4, 2\nmov r5, 0x1f\ncall 6\nmov r0, 7\nexit\n");
        var result = Tool.Run("run", path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["bpf_trace_printf: 0x1, 0x2, 0x1f", "r0 = 0x7 (7)"], result.OutLines);
    }

    [Fact]
    public void The_budget_stops_an_endless_loop()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("loop.s", "mov r0, 0\nadd r0, 1\nja -2\nexit\n");
        var result = Tool.Run("run", path, "--budget", "1000");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("ebpf: error: ", result.Err);
        Assert.Contains("budget", result.Err);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_memory_violation_is_one_error_line_naming_the_pc(string engine)
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("oob.s", "mov r0, 0\nldxb r0, [r1+100]\nexit\n");
        var result = Tool.Run("run", path, "--mem-hex", "00 01", "--engine", engine);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ebpf: error: runtime error at pc 1 ", result.Err);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
    }
}
