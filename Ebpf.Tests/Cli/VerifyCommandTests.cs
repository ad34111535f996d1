namespace Ebpf.Tests.Cli;

/// <summary><c>ebpf verify --strict</c> and <c>--log</c>: exit codes and what they print.</summary>
public class VerifyCommandTests
{
    [Theory]
    [InlineData("tcp_port.s")]
    [InlineData("block_port.o")]
    [InlineData("count_protocols.o")]
    [InlineData("global_data.o")]
    [InlineData("tail_calls.o")]
    public void Strict_accepts_every_example(string example)
    {
        var result = Tool.Run("verify", Tool.Example(example), "--strict");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Contains("; proven safe: ", result.Out);
    }

    [Fact]
    public void Strict_rejects_an_unchecked_read_and_prints_the_failing_part_of_the_log()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("unchecked.s", "ldxb r0, [r1+100]\nexit\n");
        var result = Tool.Run("verify", path, "--strict");
        Assert.Equal((1, ""), (result.ExitCode, result.Err));
        Assert.Equal(
            [
                "0: ldxb r0, [r1+100]",
                "    ; r1=input(off=0) r2=scalar(=len+0, u[0, 2147483647]) r10=fp0+0",
                "    unproven: r1: offset 100 (1 byte) may exceed the input length, len in [0, inf)",
                $"{path}: not proven safe (0 of 1 memory accesses proven, 1 unproven point(s), 0 error(s))",
            ],
            result.OutLines);

        var hybrid = Tool.Run("verify", path);
        Assert.Equal(0, hybrid.ExitCode);
        Assert.EndsWith("safe with run-time checks: 0 of 1 memory accesses proven, 1 unproven point(s), 0 error(s)", hybrid.OutLines[^1]);
    }

    [Fact]
    public void Strict_rejects_an_uninitialised_register()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("uninit.s", "mov r0, r5\nexit\n");
        var result = Tool.Run("verify", path, "--strict");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("    error: r5 is read before it is written (uninitialised on some path)", result.OutLines);
    }

    [Fact]
    public void Hybrid_mode_rejects_an_uninitialised_register_with_exit_code_1()
    {
        // Hybrid mode (no --strict) keeps run-time checks for what is unproven but refuses errors, as ProvingVerifier
        // does when loading: the tool must not print "ok" and exit 0 for a program that reads r5 before writing it.
        using var folder = new Tool.TempFolder();
        string path = folder.Write("uninit.s", "mov r0, r5\nexit\n");
        var result = Tool.Run("verify", path);
        Assert.Equal((1, ""), (result.ExitCode, result.Err));
        Assert.Equal(
            [
                "0: mov64 r0, r5",
                "    ; r1=input(off=0) r2=scalar(=len+0, u[0, 2147483647]) r10=fp0+0",
                "    error: r5 is read before it is written (uninitialised on some path)",
                $"{path}: unsafe in hybrid mode (0 of 0 memory accesses proven, 0 unproven point(s), 1 error(s))",
            ],
            result.OutLines);
    }

    [Fact]
    public void Log_prints_every_instruction_with_its_state()
    {
        var result = Tool.Run("verify", Tool.Example("tcp_port.s"), "--log");
        Assert.Equal(0, result.ExitCode);
        var lines = result.OutLines;
        Assert.Equal("0: mov64 r0, 0x0", lines[0]);
        Assert.Equal("    ; r1=input(off=0) r2=scalar(=len+0, u[0, 2147483647]) r10=fp0+0", lines[1]);
        Assert.Contains("    ; r0=0 r1=input(off=0) r2=scalar(=len+0, u[54, 2147483647]) r10=fp0+0 len>=54", lines);
        Assert.EndsWith("proven safe: 4 of 4 memory accesses proven, 0 unproven point(s), 0 error(s)", lines[^1]);
    }

    [Fact]
    public void Strict_with_log_prints_the_whole_log_and_fails()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("unchecked.s", "mov r0, 0\nldxw r0, [r1+2]\nexit\n");
        var result = Tool.Run("verify", path, "--strict", "--log");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("0: mov64 r0, 0x0", result.OutLines[0]);
        Assert.Contains("    unproven: r1: offset 2 (4 bytes) may exceed the input length, len in [0, inf)", result.OutLines);
    }
}
