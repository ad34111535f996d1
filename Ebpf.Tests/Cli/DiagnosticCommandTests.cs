using Ebpf.Tests.Diagnostics;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary><c>ebpf run --trace/--trace-json/--trace-on-error/--profile</c> and <c>ebpf bench --profile</c>.</summary>
public class DiagnosticCommandTests
{
    private static readonly string UdpPacket = Tool.Example("packets/udp_53.bin");

    [Fact]
    public void Trace_prints_one_line_per_executed_instruction_then_r0()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var result = Tool.Run("run", program, "--trace");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        var lines = result.OutLines;
        Assert.Equal(18 + 1, lines.Length);
        // pc right-aligned in 6 columns, the text, then the changes from column 37.
        Assert.Equal("     1: mov64 r1, 0x5".PadRight(36) + "r1 = 0x5", lines[1]);
        Assert.Equal("     2: add64 r0, r1".PadRight(36) + "r0 = 0x5", lines[2]);
        Assert.Equal("     4: jne r1, 0x0, -3", lines[4]);
        Assert.Equal("     5: exit", lines[17]);
        Assert.Equal("r0 = 0xf (15)", lines[18]);
    }

    [Fact]
    public void Trace_json_prints_json_lines()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var lines = Tool.Run("run", program, "--trace-json").OutLines;
        Assert.Equal(19, lines.Length);
        Assert.Equal("{\"index\":2,\"program\":\"loop\",\"pc\":2,\"depth\":0,\"insn\":\"add64 r0, r1\",\"regs\":{\"r0\":\"0x5\"}}", lines[2]);
        Assert.All(lines[..^1], l => System.Text.Json.JsonDocument.Parse(l).Dispose());
    }

    [Fact]
    public void Trace_of_an_elf_program_follows_the_udp_path()
    {
        // count_protocols.o on a UDP packet with a fresh map: 29 instructions by its llvm-objdump listing (pcs 0-13,
        // 15, 16, the miss path 20-26, 28-32, then exit at 44).
        var result = Tool.Run("run", Tool.Example("count_protocols.o"), "--mem", UdpPacket, "--trace");
        Assert.Equal(0, result.ExitCode);
        var pcs = result.OutLines[..^1].Select(l => int.Parse(l.Split(':')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture));
        int[] expected = [.. Enumerable.Range(0, 14), 15, 16, .. Enumerable.Range(20, 7), .. Enumerable.Range(28, 5), 44];
        Assert.Equal(expected, pcs);
        Assert.Equal("r0 = 0x2 (2)", result.OutLines[^1]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Trace_on_error_reruns_a_failed_run_on_the_interpreter_and_prints_its_last_instructions(string engine)
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("read.s", DiagnosticPrograms.ReadInput);
        var result = Tool.Run("run", program, "--engine", engine, "--trace-on-error");
        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        var err = result.Err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal($"ebpf: {engine} failed; the last 2 instruction(s) on the interpreter (maps keep what the first run stored):", err[0]);
        Assert.Equal("     0: mov64 r0, 0x0", err[1]);
        Assert.Equal("     1: ldxdw r0, [r1]", err[2]);
        Assert.Equal("ebpf: the interpreter failed the same way", err[3]);
        Assert.StartsWith("ebpf: error: runtime error at pc 1 (ldxdw r0, [r1])", err[4], StringComparison.Ordinal);
        Assert.Equal(5, err.Length);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Trace_and_profile_need_the_interpreter(string engine)
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        foreach (string option in new[] { "--trace", "--profile" })
        {
            var result = Tool.Run("run", program, "--engine", engine, option);
            if (engine == "interpreter")
            {
                Assert.Equal((0, ""), (result.ExitCode, result.Err));
            }
            else
            {
                Assert.Equal((2, $"ebpf: error: {option} needs the interpreter (engine '{engine}' has no per-instruction hook): use --engine interpreter\n"), (result.ExitCode, result.Err.ReplaceLineEndings("\n")));
            }
        }
    }

    [Fact]
    public void Profile_lists_hot_blocks_and_counts_per_pc()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var lines = Tool.Run("run", program, "--profile").OutLines;
        Assert.Equal("profile of loop: 18 instructions executed in 1 run(s)", lines[0]);
        Assert.Equal("hottest basic blocks (of 3):", lines[1]);
        Assert.Equal(["2-4", "5", "15", "83.3%", "add64", "r0,", "r1", "..."], lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["0-1", "1", "2", "11.1%", "mov64", "r0,", "0x0", "..."], lines[4].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["5-5", "1", "1", "5.6%", "exit"], lines[5].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("instructions executed per pc:", lines[6]);
        Assert.Equal("       2:          5  add64 r0, r1", lines[9]);
        Assert.Equal("r0 = 0xf (15)", lines[^1]);
    }

    [Fact]
    public void Profile_of_an_elf_object_shows_c_source_lines()
    {
        var result = Tool.Run("run", Tool.Example("count_protocols.o"), "--mem", UdpPacket, "--profile");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        var lines = result.OutLines;
        Assert.Equal("profile of count_protocols: 29 instructions executed in 1 run(s)", lines[0]);

        // The hottest block is the map-miss path, pcs 20-32: 12 instructions (the lddw at 26 counts once), which
        // calls bpf_map_update_elem on line 33 of count_protocols.c.
        var hottest = lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["20-32", "1", "12"], hottest[..3]);
        Assert.Contains("count_protocols.c:33  if (bpf_map_update_elem(&protocol_counts, &key, &one, BPF_NOEXIST) == 0)", lines[3], StringComparison.Ordinal);
        Assert.Contains("      13:          1  lddw r1, map_by_idx 0x0  ; count_protocols.c:26", lines);
    }

    [Fact]
    public void Bench_profile_counts_over_the_iterations()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var result = Tool.Run("bench", program, "--engines", "interpreter", "-n", "3", "--batches", "1", "--profile");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Contains("profile of loop: 54 instructions executed in 3 run(s)", result.OutLines);
        Assert.Contains("       2:         15  add64 r0, r1", result.OutLines);
    }

    [Fact]
    public void Trace_and_profile_cannot_be_combined_with_json()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var result = Tool.Run("run", program, "--profile", "--json");
        Assert.Equal((2, "", "ebpf: error: --profile prints to the output; it cannot be combined with --json\n"), (result.ExitCode, result.Out, result.Err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void Trace_and_trace_json_together_are_an_error()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", DiagnosticPrograms.Loop);
        var result = Tool.Run("run", program, "--trace", "--trace-json");
        Assert.Equal((2, "ebpf: error: give --trace or --trace-json, not both\n"), (result.ExitCode, result.Err.ReplaceLineEndings("\n")));
    }
}
