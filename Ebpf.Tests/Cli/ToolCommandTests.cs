using Ebpf.Interpreter;
using Ebpf.Tests.DependencyInjection;

namespace Ebpf.Tests.Cli;

public class ToolCommandTests
{
    // mov r0, 42 = b7 00 00 00 2a 00 00 00; lddw r1, 0x1122334455667788 = 18 01 00 00 88 77 66 55 | 00 00 00 00 44 33 22 11;
    // exit = 95 00 00 00 00 00 00 00.
    private static readonly byte[] Encoded =
    [
        0xb7, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00,
        0x18, 0x01, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55,
        0x00, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11,
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    private const string Source = "mov r0, 42\nlddw r1, 0x1122334455667788\nexit\n";

    [Fact]
    public void Asm_writes_the_bytecode_next_to_the_input_by_default()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("prog.s", Source);
        var result = Tool.Run("asm", path);
        string expected = Path.Combine(folder.Path, "prog.bin");
        Assert.Equal((0, $"wrote 4 slots (32 bytes) to {expected}\n", ""), (result.ExitCode, result.Out.ReplaceLineEndings("\n"), result.Err));
        Assert.Equal(Encoded, File.ReadAllBytes(expected));
    }

    [Fact]
    public void Asm_writes_where_o_says_and_the_result_runs()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("prog.asm", Source);
        string output = Path.Combine(folder.Path, "out.o.bin");
        Assert.Equal(0, Tool.Run("asm", path, "-o", output).ExitCode);
        Assert.Equal(Encoded, File.ReadAllBytes(output));
        Assert.Equal(["r0 = 0x2a (42)"], Tool.Run("run", output).OutLines);
    }

    [Fact]
    public void Asm_refuses_to_overwrite_its_input()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("prog.s", Source);
        var result = Tool.Run("asm", path, "-o", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("would overwrite the input", result.Err);
        Assert.Equal(Source, File.ReadAllText(path));
    }

    [Fact]
    public void Disasm_lists_pc_bytes_and_text_with_both_lddw_slots()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("prog.bin", Encoded);
        var result = Tool.Run("disasm", path);
        Assert.Equal(0, result.ExitCode);
        var lines = result.OutLines;
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("    0: b7 00 00 00 2a 00 00 00  ", lines[0]);
        Assert.Contains("r0", lines[0]);
        Assert.StartsWith("    1: 18 01 00 00 88 77 66 55  lddw r1, 0x1122334455667788", lines[1]);
        Assert.Equal("    2: 00 00 00 00 44 33 22 11", lines[2].TrimEnd());
        Assert.Equal("    3: 95 00 00 00 00 00 00 00  exit", lines[3]);
    }

    [Fact]
    public void Disasm_reads_assembly_and_conformance_tests_too()
    {
        using var folder = new Tool.TempFolder();
        string asm = folder.Write("prog.s", Source);
        string data = folder.Write("prog.data", "-- asm\n" + Source + "-- result\n0x2a\n");
        string bin = folder.Write("prog.bin", Encoded);
        string expected = Tool.Run("disasm", bin).Out;
        Assert.Equal(expected, Tool.Run("disasm", asm).Out);
        Assert.Equal(expected, Tool.Run("disasm", data).Out);
    }

    [Fact]
    public void Verify_accepts_a_good_program()
    {
        var result = Tool.Run("verify", Tool.Example("tcp_port.s"));
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal([$"{Tool.Example("tcp_port.s")}: ok (17 slots, 1 function(s)); proven safe: 4 of 4 memory accesses proven, 0 unproven point(s), 0 error(s)"], result.OutLines);
    }

    [Fact]
    public void Verify_rejects_an_unknown_opcode_with_its_pc()
    {
        using var folder = new Tool.TempFolder();
        // slot 0: opcode 0xff (undefined); slot 1: exit.
        string path = folder.Write("bad.bin", new byte[] { 0xff, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0 });
        var result = Tool.Run("verify", path);
        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.StartsWith($"ebpf: error: {path}: verification failed at pc 0", result.Err);
    }

    [Fact]
    public void Engines_lists_each_engine_with_its_availability()
    {
        var engines = new EngineSelector([new InterpreterEngine(), new FakeEngine("x64", EngineCapabilities.NativeCode, "needs an x86-64 CPU")]);
        var result = Tool.Run(engines, "engines");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                "interpreter  interpreter, memory checks always on; available",
                "x64          native code, memory checks always on; unavailable: needs an x86-64 CPU",
                "default: interpreter; fastest here: interpreter",
            ],
            result.OutLines);
    }

    [Fact]
    public void Engines_of_this_build_include_the_interpreter()
    {
        var result = Tool.Run("engines");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.OutLines, l => l.StartsWith("interpreter ", StringComparison.Ordinal) && l.EndsWith("; available", StringComparison.Ordinal));
        Assert.StartsWith("default: interpreter; fastest here: ", result.OutLines[^1]);
    }
}
