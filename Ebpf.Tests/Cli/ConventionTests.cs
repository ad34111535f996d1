using System.Text.Json;
using Ebpf.Cli;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary>The tool's conventions: help, completion, standard input, JSON, exit codes.</summary>
public class ConventionTests
{
    private static readonly string TcpPortExample = Tool.Example("tcp_port.s");

    [Fact]
    public void The_tool_alone_prints_the_help_and_exits_0()
    {
        var result = Tool.Run();
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Contains("Usage:", result.Out);
        Assert.Contains("run", result.Out);
        Assert.Contains("test", result.Out);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("test")]
    public void The_engine_option_completes_with_the_engines_and_policies(string command)
    {
        var context = new ToolContext(TextWriter.Null, TextWriter.Null, ToolEngines.Create(), interactive: false);
        var parse = EbpfTool.CreateRootCommand(context).Parse($"{command} x --engine ");
        var completions = parse.GetCompletions().Select(c => c.Label).ToList();
        var expected = TestEngines.All.Select(e => e.Name).Concat(["auto", "fastest", "safest"]);
        Assert.All(expected, name => Assert.Contains(name, completions));
        Assert.Equal(command == "test", completions.Contains("all"));
    }

    [Fact]
    public void A_dash_reads_the_memory_from_standard_input()
    {
        var result = Tool.RunWithInput(Tool.TcpPacket(8080), "run", TcpPortExample, "--mem", "-");
        Assert.Equal((0, "r0 = 0x1f90 (8080)"), (result.ExitCode, result.OutLines[0]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Run_prints_json_on_request(string engine)
    {
        var result = Tool.Run("run", TcpPortExample, "--engine", engine, "--json", "--mem-hex", Convert.ToHexString(Tool.TcpPacket(443)));
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(engine, json.RootElement.GetProperty("engine").GetString());
        Assert.Equal(443UL, json.RootElement.GetProperty("r0").GetUInt64());
    }

    [Fact]
    public void Json_and_maps_together_are_a_usage_error()
    {
        var result = Tool.Run("run", Tool.Example("count_protocols.o"), "--json", "--maps");
        Assert.Equal((2, "ebpf: error: --maps prints text; it cannot be combined with --json\n"), (result.ExitCode, result.Err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void Test_prints_json_with_each_failure()
    {
        using var folder = new Tool.TempFolder();
        folder.Write("good.data", "-- asm\nmov r0, 7\nexit\n-- result\n0x7\n");
        string bad = folder.Write("bad.data", "-- asm\nmov r0, 1\nexit\n-- result\n0x2\n");
        var result = Tool.Run("test", folder.Path, "--json");
        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var engine = Assert.Single(json.RootElement.GetProperty("engines").EnumerateArray());
        Assert.Equal(("interpreter", 1, 1), (engine.GetProperty("engine").GetString(), engine.GetProperty("passed").GetInt32(), engine.GetProperty("failed").GetInt32()));
        var failure = Assert.Single(engine.GetProperty("failures").EnumerateArray());
        Assert.Equal((bad, "expected 0x2 (2), got 0x1 (1)"), (failure.GetProperty("path").GetString(), failure.GetProperty("error").GetString()));
        Assert.Equal((1, 1), (json.RootElement.GetProperty("passed").GetInt32(), json.RootElement.GetProperty("failed").GetInt32()));
    }
}
