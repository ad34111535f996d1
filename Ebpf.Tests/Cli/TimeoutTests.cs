using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary><c>--timeout SECONDS</c> of run and test.</summary>
public class TimeoutTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_endless_run_stops_at_the_timeout_with_an_error_naming_the_flag(string engine)
    {
        using var folder = new Tool.TempFolder();
        string loop = folder.Write("loop.s", "mov r0, 0\nadd r0, 1\nja -2\nexit\n");
        var result = Tool.Run("run", loop, "--timeout", "0.05", "--engine", engine);
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(
            @"^ebpf: error: runtime error at pc (1 \(add r0, 1\)|2 \(ja -2\)): the run took longer than its timeout of 0\.05 s \(set a longer limit with --timeout SECONDS, or 0 for none\)\n$",
            result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_test_that_runs_too_long_fails_and_the_series_goes_on()
    {
        using var folder = new Tool.TempFolder();
        folder.Write("a_loop.data", "-- asm\nmov r0, 0\nadd r0, 1\nja -2\nexit\n-- result\n0x0\n");
        folder.Write("b_ok.data", "-- asm\nmov r0, 7\nexit\n-- result\n0x7\n");
        var result = Tool.Run("test", folder.Path, "--timeout", "0.05");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(2, result.OutLines.Length);
        Assert.StartsWith("FAIL interpreter ", result.OutLines[0]);
        Assert.EndsWith("a_loop.data: the run took longer than its timeout of 0.05 s", result.OutLines[0].Replace("runtime error at pc 1 (add r0, 1): ", "").Replace("runtime error at pc 2 (ja -2): ", ""));
        Assert.Equal("1 passed, 1 failed", result.OutLines[1]);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("1e9")]
    public void A_bad_timeout_is_a_usage_error(string value)
    {
        var result = Tool.Run("run", Tool.Example("tcp_port.s"), "--timeout", value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout must be a number of seconds from 0 (no limit)", result.Err);
    }

    [Fact]
    public void Zero_means_no_limit()
    {
        var result = Tool.Run("run", Tool.Example("tcp_port.s"), "--timeout", "0", "--mem-hex", Convert.ToHexString(Tool.TcpPacket(80)));
        Assert.Equal((0, "r0 = 0x50 (80)"), (result.ExitCode, result.OutLines[0]));
    }
}
