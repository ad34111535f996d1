using Ebpf.Interpreter;
using Ebpf.Tests.DependencyInjection;

namespace Ebpf.Tests.Cli;

public class ErrorTests
{
    private static readonly string TcpPortExample = Tool.Example("tcp_port.s");

    [Fact]
    public void A_missing_program_file_is_one_line_and_exit_code_1()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-program-" + Guid.NewGuid().ToString("N") + ".s");
        var result = Tool.Run("run", path);
        Assert.Equal((1, "", $"ebpf: error: file not found: {path}\n"), (result.ExitCode, result.Out, result.Err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void A_missing_memory_file_is_named_as_a_usage_error()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-packet-" + Guid.NewGuid().ToString("N") + ".bin");
        var result = Tool.Run("run", TcpPortExample, "--mem", path);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"ebpf: error: memory file not found: {path}\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_malformed_program_names_the_file_line_and_column()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("bad.s", "mov r0, 1\n  frob r1\nexit\n");
        var result = Tool.Run("run", path);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"ebpf: error: {path}: line 2, column 3: ", result.Err);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void Bytecode_of_a_bad_length_is_refused()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("short.bin", new byte[] { 0x95, 0, 0, 0, 0 });
        var result = Tool.Run("run", path);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"ebpf: error: {path}: ", result.Err);
    }

    [Fact]
    public void An_unknown_engine_is_a_usage_error_listing_the_known_ones()
    {
        var engines = new EngineSelector([new InterpreterEngine(), new FakeEngine("x64", EngineCapabilities.NativeCode, "needs an x86-64 CPU")]);
        var result = Tool.Run(engines, "run", TcpPortExample, "--engine", "jit");
        Assert.Equal((2, ""), (result.ExitCode, result.Out));
        Assert.Equal("ebpf: error: unknown engine 'jit' (known: interpreter, x64, auto, fastest, safest)\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void An_unavailable_engine_gives_its_reason()
    {
        var engines = new EngineSelector([new InterpreterEngine(), new FakeEngine("x64", EngineCapabilities.NativeCode, "needs an x86-64 CPU")]);
        var result = Tool.Run(engines, "run", TcpPortExample, "--engine", "x64");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ebpf: error: engine 'x64' is not available here: needs an x86-64 CPU\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("0g", "ebpf: error: --mem-hex: '0g' is not hex bytes ('0g' is not a hex byte)")]
    [InlineData("00 abc", "ebpf: error: --mem-hex: 'abc' is not hex bytes (expected pairs of hex digits such as '0a 1b' or '0a1b')")]
    [InlineData("0x", "ebpf: error: --mem-hex: '0x' is not hex bytes (expected pairs of hex digits such as '0a 1b' or '0a1b')")]
    public void Bad_hex_is_a_usage_error_naming_the_token(string hex, string message)
    {
        var result = Tool.Run("run", TcpPortExample, "--mem-hex", hex);
        Assert.Equal((2, ""), (result.ExitCode, result.Out));
        Assert.Equal(message + "\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Memory_from_a_file_and_from_hex_at_once_is_refused()
    {
        var result = Tool.Run("run", TcpPortExample, "--mem", TcpPortExample, "--mem-hex", "00");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ebpf: error: give the memory with --mem or --mem-hex, not both\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_section_for_a_file_that_is_not_elf_is_refused()
    {
        var result = Tool.Run("run", TcpPortExample, "--section", "xdp");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--section applies to ELF objects only", result.Err);
    }

    [Theory]
    [InlineData(new[] { "run" }, "Required argument 'PROGRAM' missing")]
    [InlineData(new[] { "frob" }, "Unrecognized command or argument 'frob'")]
    [InlineData(new[] { "run", "x.s", "--budget", "0" }, "--budget must be a positive number of instructions (got '0')")]
    [InlineData(new[] { "run", "x.s", "--budget", "many" }, "--budget must be a positive number of instructions (got 'many')")]
    [InlineData(new[] { "bench", "x.s", "-n", "-3" }, "--iterations must be a positive number of runs (got '-3')")]
    [InlineData(new[] { "bench", "x.s", "--batches", "99999999999" }, "--batches must be a positive number of batches (got '99999999999')")]
    public void Usage_errors_exit_with_2_and_say_what_is_wrong(string[] args, string message)
    {
        var result = Tool.Run(args);
        Assert.Equal((2, ""), (result.ExitCode, result.Out));
        Assert.StartsWith("ebpf: error: ", result.Err);
        Assert.Contains(message, result.Err);
        Assert.EndsWith(args[0] == "frob" ? "(see 'ebpf --help')\n" : $"(see 'ebpf {args[0]} --help')\n", result.Err.ReplaceLineEndings("\n"));
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-program-" + Guid.NewGuid().ToString("N") + ".s");
        var quiet = Tool.Run("run", path);
        var verbose = Tool.Run("run", path, "--verbose");
        Assert.DoesNotContain("   at ", quiet.Err);
        Assert.Contains("   at ", verbose.Err);
        Assert.StartsWith($"ebpf: error: file not found: {path}", verbose.Err);
    }

    [Fact]
    public void Help_lists_the_commands()
    {
        var result = Tool.Run("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "run", "asm", "disasm", "verify", "test", "bench", "engines" })
        {
            Assert.Contains($"  {command} ", result.Out);
        }
    }
}
