using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary>The tool on the clang-compiled examples (expected values from the examples' C sources).</summary>
public class ElfCommandTests
{
    private static readonly string BlockPort = Tool.Example("block_port.o");

    private static string Packet(string name) => Tool.Example(Path.Combine("packets", name));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_port_filter_drops_port_9999_and_traces_it(string engine)
    {
        var result = Tool.Run("run", BlockPort, "--mem", Packet("tcp_9999.bin"), "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(["dropping packet to port 9999", "r0 = 0x1 (1)"], result.OutLines);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_port_filter_passes_port_80(string engine)
    {
        Assert.Equal(["r0 = 0x2 (2)"], Tool.Run("run", BlockPort, "--mem", Packet("tcp_80.bin"), "--engine", engine).OutLines);
    }

    [Fact]
    public void Maps_are_printed_after_the_run_on_request()
    {
        var result = Tool.Run("run", Tool.Example("count_protocols.o"), "--mem", Packet("udp_53.bin"), "--maps");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["r0 = 0x2 (2)", "map protocol_counts (Hash, 1 of 16 entries)", "  17 = 1"], result.OutLines);
    }

    [Fact]
    public void A_section_selects_the_program()
    {
        string tailCalls = Tool.Example("tail_calls.o");
        var result = Tool.Run("verify", tailCalls, "--section", "xdp/udp");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"{tailCalls} handle_udp (section xdp/udp): ok (", result.OutLines[0]);
    }

    [Fact]
    public void An_unknown_section_lists_the_programs()
    {
        var result = Tool.Run("run", Tool.Example("tail_calls.o"), "--section", "nope");
        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.StartsWith("ebpf: error: ", result.Err);
        Assert.Contains("no program or section named 'nope'", result.Err);
        Assert.Contains("handle_udp in xdp/udp", result.Err);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Disasm_lists_every_program_of_an_object()
    {
        var result = Tool.Run("disasm", Tool.Example("tail_calls.o"));
        Assert.Equal(0, result.ExitCode);
        var headers = result.OutLines.Where(l => l.EndsWith("):", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            ["chain (section xdp/chain):", "dispatch (section xdp):", "handle_tcp (section xdp/tcp):", "handle_udp (section xdp/udp):"],
            headers.Order(StringComparer.Ordinal));
        Assert.StartsWith("    0: ", result.OutLines[1]);
    }

    [Fact]
    public void A_truncated_object_is_one_error_line()
    {
        using var folder = new Tool.TempFolder();
        var bytes = File.ReadAllBytes(BlockPort);
        string path = folder.Write("truncated.o", bytes[..(bytes.Length / 2)]);
        var result = Tool.Run("run", path);
        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.StartsWith("ebpf: error: ", result.Err);
        Assert.Contains(path, result.Err);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Bench_runs_an_object_on_every_engine()
    {
        var result = Tool.Run("bench", BlockPort, "--mem", Packet("tcp_80.bin"), "-n", "5", "--batches", "1");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal($"{BlockPort}: ", result.OutLines[0][..(BlockPort.Length + 2)]);
        Assert.EndsWith("r0 = 0x2 (2) on every engine", result.OutLines[0]);
        Assert.Equal(TestEngines.All.Select(e => e.Name), result.OutLines[2..^1].Select(l => l.Split(' ')[0]));
    }
}
