namespace Ebpf.Tests.Cli;

/// <summary><c>ebpf debug</c> with commands piped on standard input.</summary>
public class DebugCommandTests
{
    [Fact]
    public void A_piped_session_breaks_inspects_changes_and_continues()
    {
        // count_protocols.o on a UDP packet: at pc 13 the key (protocol 17) is in r1 and on the stack at r10-4.
        string commands = "break 13\ncontinue\nregs\nmem r10-4 4\nwrite r10-4 06000000\nmem r10-4 4\nstep 2\ncontinue\n";
        var result = Tool.RunWithInput(commands, "debug", Tool.Example("count_protocols.o"), "--mem", Tool.Example("packets/udp_53.bin"));
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        var lines = result.OutLines;
        Assert.Equal("pc 0: mov64 r3, 0xffff    ; count_protocols.c:17  int count_protocols(PACKET_ARGS)", lines[0]);
        Assert.Equal("breakpoint at pc 13", lines[1]);
        Assert.Equal("pc 13: lddw r1, map_by_idx 0x0    ; count_protocols.c:26  __u64 *count = bpf_map_lookup_elem(&protocol_counts, &key);", lines[2]);
        Assert.Equal("r1   0x0000000000000011  17", lines[4]);
        Assert.Matches("^0x[0-9a-f]+: 11 00 00 00$", lines[14]);
        Assert.Equal("4 byte(s) written at " + lines[14].Split(':')[0], lines[15]);
        Assert.EndsWith(": 06 00 00 00", lines[16], StringComparison.Ordinal);
        Assert.Equal("pc 16: jeq r0, 0x0, +3    ; count_protocols.c:27  if (count) {", lines[17]);
        Assert.Equal("the run completed after 29 instruction(s): r0 = 0x2 (2)", lines[18]);
        Assert.Equal(19, lines.Length);
    }

    [Fact]
    public void Bad_commands_print_an_error_and_the_session_goes_on()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("loop.s", Ebpf.Tests.Diagnostics.DiagnosticPrograms.Loop);
        var result = Tool.RunWithInput("frobnicate\nbreak 99\nmem 0 4\nset r12 1\nset r1 0x10\nc\n", "debug", program);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                "error: unknown command 'frobnicate' ('help' lists the commands)",
                "error: no instruction starts at pc 99 (the program has 6 slots)",
                "error: cannot read 4 bytes at 0x0: outside the run's memory",
                "error: 'r12' is not a register (r0 to r10)",
            ],
            result.Err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Assert.Equal(["pc 0: mov64 r0, 0x0", "r1 = 0x10", "the run completed after 18 instruction(s): r0 = 0xf (15)"], result.OutLines);
    }

    [Fact]
    public void End_of_input_abandons_the_run_and_a_failing_run_exits_1()
    {
        using var folder = new Tool.TempFolder();
        string loop = folder.Write("loop.s", Ebpf.Tests.Diagnostics.DiagnosticPrograms.Loop);
        Assert.Equal(["pc 0: mov64 r0, 0x0", "end of input: the run is abandoned"], Tool.RunWithInput(string.Empty, "debug", loop).OutLines);

        string read = folder.Write("read.s", Ebpf.Tests.Diagnostics.DiagnosticPrograms.ReadInput);
        var failed = Tool.RunWithInput("continue\n", "debug", read);
        Assert.Equal(1, failed.ExitCode);
        Assert.StartsWith("the run failed after 2 instruction(s): runtime error at pc 1 (ldxdw r0, [r1])", failed.OutLines[^1], StringComparison.Ordinal);
    }
}
