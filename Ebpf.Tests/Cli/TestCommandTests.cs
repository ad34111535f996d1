using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

public class TestCommandTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_whole_conformance_suite_passes_on_each_engine(string engine)
    {
        var result = Tool.Run("test", ConformanceSuite.TestsDirectory, "--engine", engine);
        Assert.Equal("", result.Err);
        Assert.Equal(["313 passed, 0 failed"], result.OutLines);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public void All_engines_report_one_line_each_and_a_total()
    {
        using var folder = new Tool.TempFolder();
        folder.Write("a.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n");
        folder.Write("b.data", "-- asm\nmov %r0, %r2\nexit\n-- mem\n00 01 02\n-- result\n0x3\n");
        var result = Tool.Run("test", folder.Path, "--engine", "all");
        int engines = TestEngines.All.Count;
        var expected = TestEngines.Unavailable.Select(u => $"{u.Name}: skipped ({u.Reason})")
            .Concat(TestEngines.All.Select(e => $"{e.Name}: 2 passed, 0 failed"))
            .Append($"{2 * engines} passed, 0 failed");
        Assert.Equal(expected, result.OutLines);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public void A_failure_gets_a_FAIL_line_and_exit_code_1()
    {
        using var folder = new Tool.TempFolder();
        string good = folder.Write("good.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n");
        string wrong = folder.Write("wrong.data", "-- asm\nmov %r0, 2\nexit\n-- result\n0x1\n");
        string broken = folder.Write("broken.data", "-- asm\nfrob %r0\nexit\n-- result\n0x1\n");
        string faulting = folder.Write("faulting.data", "-- asm\nldxb %r0, [%r1+8]\nexit\n-- mem\n00\n-- result\n0x0\n");
        var result = Tool.Run("test", good, wrong, broken, faulting, "--engine", "interpreter");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(4, result.OutLines.Length);
        Assert.Equal($"FAIL interpreter {wrong}: expected 0x1 (1), got 0x2 (2)", result.OutLines[0]);
        Assert.StartsWith($"FAIL interpreter {broken}: line 2, column 1: ", result.OutLines[1]);
        Assert.StartsWith($"FAIL interpreter {faulting}: runtime error at pc 0 ", result.OutLines[2]);
        Assert.Equal("1 passed, 3 failed", result.OutLines[3]);
    }

    [Fact]
    public void An_expected_error_passes_when_the_program_fails()
    {
        using var folder = new Tool.TempFolder();
        string path = folder.Write("err.data", "-- asm\nldxb %r0, [%r1+8]\nexit\n-- mem\n00\n-- error\nout of bounds memory load\n");
        Assert.Equal(["1 passed, 0 failed"], Tool.Run("test", path).OutLines);
    }

    [Fact]
    public void A_missing_path_or_an_empty_folder_is_an_error()
    {
        using var folder = new Tool.TempFolder();
        string missing = Path.Combine(folder.Path, "nothing-here");
        var result = Tool.Run("test", missing);
        Assert.Equal((1, $"ebpf: error: not found: {missing}\n"), (result.ExitCode, result.Err.ReplaceLineEndings("\n")));
        var empty = Tool.Run("test", folder.Path);
        Assert.Equal((1, $"ebpf: error: no .data files in '{folder.Path}'\n"), (empty.ExitCode, empty.Err.ReplaceLineEndings("\n")));
    }
}
