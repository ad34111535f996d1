using Ebpf.Cli;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary>
/// The progress line of <c>test</c> and <c>bench</c> (<c>fuzz</c>: <see cref="FuzzCommandTests"/>): drawn on the error
/// stream only for a person at a terminal and never with <c>--json</c>; what goes to standard output is the same
/// either way.
/// </summary>
public class ProgressDisplayTests
{
    private static readonly string Packet = Convert.ToHexString(Tool.TcpPacket(80));

    private static (string Out, string Err) Run(bool interactive, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = EbpfTool.Run(args, output, error, interactive: interactive);
        Assert.True(code == 0, output.ToString() + error);
        return (output.ToString(), error.ToString());
    }

    [Fact]
    public void Test_draws_progress_only_on_a_terminal_and_leaves_standard_output_unchanged()
    {
        string[] args = ["test", ConformanceSuite.TestsDirectory, "--engine", "interpreter"];
        var redirected = Run(false, args);
        var terminal = Run(true, args);
        Assert.Equal("", redirected.Err);
        Assert.Equal(redirected.Out, terminal.Out);
        Assert.StartsWith("\rtest: interpreter 1/", terminal.Err);
        Assert.EndsWith("\r", terminal.Err); // erased before the totals

        var json = Run(true, [.. args, "--json"]);
        Assert.Equal("", json.Err);
    }

    [Fact]
    public void Bench_draws_progress_per_engine_only_on_a_terminal_and_never_with_json()
    {
        string[] args = ["bench", Tool.Example("tcp_port.s"), "--mem-hex", Packet, "-n", "10", "--batches", "1", "--engines", "interpreter"];
        Assert.Equal("", Run(false, args).Err);
        var terminal = Run(true, args);
        Assert.StartsWith("\rbench: interpreter (1/1)", terminal.Err);
        Assert.EndsWith("\r", terminal.Err);
        Assert.Equal("", Run(true, [.. args, "--json"]).Err);
    }
}
