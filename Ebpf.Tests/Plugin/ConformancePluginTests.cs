using Ebpf.Cli.Plugin;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Plugin;

public class ConformancePluginTests
{
    private const string Mov42 = "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00";

    // ldxh r0, [r1+2]; exit
    private const string LoadHalf = "69 10 02 00 00 00 00 00 95 00 00 00 00 00 00 00";

    private static (int Code, string Out, string Err) Invoke(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ConformancePlugin.Run(args, new StringReader(stdin), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Prints_r0_in_hex_for_a_program_without_memory()
    {
        Assert.Equal((0, "2a\n", string.Empty), Invoke(Mov42 + "\n"));
    }

    [Fact]
    public void Takes_the_memory_in_the_runners_format()
    {
        // The runner writes each byte followed by two spaces.
        Assert.Equal((0, "2211\n", string.Empty), Invoke(LoadHalf + "\n", "aa  bb  11  22  cc  "));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Selects_the_engine_by_name(string engine)
    {
        Assert.Equal((0, "2211\n", string.Empty), Invoke(LoadHalf, "aa bb 11 22", "--engine", engine));
    }

    [Fact]
    public void Registers_the_conformance_helpers()
    {
        // mov r1, 0; call 5 (unwind); mov r0, 2; exit -> 0
        var program = "b7 01 00 00 00 00 00 00 85 00 00 00 05 00 00 00 b7 00 00 00 02 00 00 00 95 00 00 00 00 00 00 00";
        Assert.Equal((0, "0\n", string.Empty), Invoke(program));
    }

    [Fact]
    public void A_run_error_is_one_line_and_exit_code_1()
    {
        var (code, stdout, stderr) = Invoke(LoadHalf, "aa bb");
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("memory access violation", stderr);
        Assert.Contains("pc 0", stderr);
    }

    [Fact]
    public void Load_errors_are_one_line_and_exit_code_1()
    {
        var notHex = Invoke("zz");
        Assert.Equal(1, notHex.Code);
        Assert.Contains("not a hex byte", notHex.Err);

        var truncated = Invoke("95 00 00");
        Assert.Equal(1, truncated.Code);
        Assert.Contains("multiple of 8", truncated.Err);

        var unknownHelper = Invoke("85 00 00 00 63 00 00 00 95 00 00 00 00 00 00 00");
        Assert.Equal(1, unknownHelper.Code);
        Assert.Contains("unknown helper id 99", unknownHelper.Err);

        var empty = Invoke(string.Empty);
        Assert.Equal(1, empty.Code);
        Assert.Single(empty.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Bad_arguments_are_reported()
    {
        Assert.Contains("unknown engine 'nope'", Invoke(Mov42, "--engine", "nope").Err);
        Assert.Contains("--engine needs a value", Invoke(Mov42, "--engine").Err);
        Assert.Contains("unknown plugin argument '--fast'", Invoke(Mov42, "--fast").Err);
        Assert.Equal(1, Invoke(Mov42, "--budget", "0").Code);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Runs_the_default_program_of_an_elf_object_with_elf(string engine)
    {
        // examples/global_data.o: returns the sum of bytes[i] * {1, 2, 3, 4}[i & 3] = 1 + 4 + 9 + 16 + 5.
        var elf = File.ReadAllBytes(Path.Combine(ConformanceSuite.RepositoryRoot, "examples", "global_data.o"));
        string hex = string.Join("  ", elf.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal((0, "23\n", string.Empty), Invoke(hex, "01  02  03  04  05  ", "--engine", engine, "--elf"));
    }

    /// <summary>ELF objects with maps and the packet each gets, with the XDP verdict (1 = drop, 2 = pass).</summary>
    public static TheoryData<string, string, string, ulong> ElfWithMaps()
    {
        var data = new TheoryData<string, string, string, ulong>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, "count_protocols.o", "udp_53.bin", 2);
            data.Add(engine.Name, "block_port.o", "tcp_9999.bin", 1);
            data.Add(engine.Name, "block_port.o", "tcp_80.bin", 2);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ElfWithMaps))]
    public void An_elf_object_gets_the_linux_helpers_its_calls_name_and_the_same_verdict_as_ebpf_run(string engine, string objectFile, string packetFile, ulong verdict)
    {
        // Issue 17: the conformance helpers (ids 1, 2, 3, 5) used to replace the map helpers of ELF objects.
        var elf = File.ReadAllBytes(Path.Combine(ConformanceSuite.RepositoryRoot, "examples", objectFile));
        var packet = File.ReadAllBytes(Path.Combine(ConformanceSuite.RepositoryRoot, "examples", "packets", packetFile));
        string hex = string.Join("  ", elf.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        string memory = string.Join("  ", packet.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal((0, $"{verdict:x}\n", string.Empty), Invoke(hex, memory, "--engine", engine, "--elf"));

        var run = Ebpf.Tests.Cli.Tool.Run("run", Ebpf.Tests.Cli.Tool.Example(objectFile), "--mem", Ebpf.Tests.Cli.Tool.Example(Path.Combine("packets", packetFile)), "--engine", engine);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"r0 = 0x{verdict:x} ({verdict})", run.OutLines[^1]);
    }

    [Fact]
    public void Elf_input_that_is_not_an_elf_object_is_an_error()
    {
        var (code, stdout, stderr) = Invoke(Mov42, "--elf");
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Contains("ELF", stderr);
    }

    [Fact]
    public void A_budget_stops_endless_programs()
    {
        var (code, _, stderr) = Invoke("05 00 00 00 00 00 00 00 05 00 fe ff 00 00 00 00 95 00 00 00 00 00 00 00", "--budget", "1000");
        Assert.Equal(1, code);
        Assert.Contains("budget", stderr);
    }

    private static string[] Split(string joined) => joined.Length == 0 ? [] : joined.Split('|');

    [Theory]
    [InlineData("plugin", "")]
    [InlineData("plugin|--engine|il", "--engine|il")]
    [InlineData("00  01  |plugin|--engine|il|--elf", "00  01  |--engine|il|--elf")]
    [InlineData("|plugin --engine il", "--engine|il")]
    [InlineData("00 01|plugin --engine x64", "00 01|--engine|x64")]
    public void The_runners_argument_layouts_select_plugin_mode(string args, string expected)
    {
        Assert.True(ConformancePlugin.TryGetPluginArguments(Split(args), out var pluginArgs));
        Assert.Equal(Split(expected), pluginArgs);
    }

    [Theory]
    [InlineData("")]
    [InlineData("run|plugin")]
    [InlineData("--engine|plugin")]
    public void Other_command_lines_are_not_plugin_mode(string args)
    {
        Assert.False(ConformancePlugin.TryGetPluginArguments(Split(args), out _));
    }
}
