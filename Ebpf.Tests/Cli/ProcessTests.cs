using System.Diagnostics;
using System.Runtime.InteropServices;
using Ebpf.Tests.Verification;

namespace Ebpf.Tests.Cli;

/// <summary>The tool as a process: the entry point routes to the commands and to the bpf_conformance plugin mode.</summary>
public class ProcessTests
{
    private static ProcessStartInfo Info(params string[] args)
    {
        string tool = Path.Combine(AppContext.BaseDirectory, "Ebpf.Cli.dll");
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(tool);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    private static (int ExitCode, string Out, string Err) Start(string? stdin, params string[] args)
    {
        using var process = Process.Start(Info(args))!;
        process.StandardInput.Write(stdin ?? string.Empty);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the tool did not exit");
        return (process.ExitCode, output.Result.ReplaceLineEndings("\n"), error.Result.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Run_prints_r0_and_exits_0()
    {
        var result = Start(null, "run", Tool.Example("tcp_port.s"), "--mem-hex", Convert.ToHexString(Tool.TcpPacket(80)));
        Assert.Equal((0, "r0 = 0x50 (80)\n", ""), result);
    }

    [Fact]
    public void An_error_is_one_line_on_stderr_and_exit_code_1()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-program-" + Guid.NewGuid().ToString("N") + ".bin");
        var result = Start(null, "run", missing);
        Assert.Equal((1, "", $"ebpf: error: file not found: {missing}\n"), result);
    }

    [Fact]
    public void The_conformance_plugin_mode_stays_reachable()
    {
        // mov r0, r2 (bf 20 ...) ; exit: r0 = the memory's length, printed in hex as the runner expects.
        var result = Start("bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n", "00 01 02 03 04 05 06 07 08 09 0a", "plugin");
        Assert.Equal((0, "b\n", ""), result);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "signal")]
    private static extern nint SetSignalHandler(int signal, nint handler);

    private static readonly nint SigDfl = 0;
    private static readonly nint SigIgn = 1;

    /// <summary>Whether this process ignores <paramref name="signal"/> (the SigIgn mask of /proc/self/status).</summary>
    private static bool Ignores(int signal, string process = "self")
    {
        string line = File.ReadLines($"/proc/{process}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        ulong mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>
    /// Starts the tool with <paramref name="signal"/> at its default disposition. A shell without job control starts
    /// background commands with SIGINT ignored, a child inherits that across exec, and the .NET runtime (as every
    /// well-behaved program) then leaves SIGINT ignored: the tool would rightly not stop on it, and the test would wait
    /// for nothing. So when this test process ignores the signal, the child is started with the default disposition (put
    /// back for this process right after; the runtime resets only the handlers it installed itself in the child, so an
    /// ignored signal would otherwise stay ignored there).
    /// </summary>
    private static Process StartWithDefault(int signal, ProcessStartInfo info)
    {
        if (!Ignores(signal))
        {
            return Process.Start(info)!;
        }

        SetSignalHandler(signal, SigDfl);
        try
        {
            return Process.Start(info)!;
        }
        finally
        {
            SetSignalHandler(signal, SigIgn);
        }
    }

    [Theory]
    [InlineData(15)] // SIGTERM
    [InlineData(2)] // SIGINT (Ctrl+C)
    public async Task A_signal_stops_an_endless_run_and_the_tool_exits_with_a_message(int signal)
    {
        using var folder = new Tool.TempFolder();
        string loop = folder.Write("loop.s", "mov r0, 0\nadd r0, 1\nja -2\nexit\n");
        using var process = StartWithDefault(signal, Info("run", loop, "--timeout", "0", "--engine", "interpreter"));
        try
        {
            await StopsOn(process, signal);
        }
        finally
        {
            // A failed assertion must not leave the endless run spinning after the test.
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task StopsOn(Process process, int signal)
    {
        process.StandardInput.Close();
        var error = process.StandardError.ReadToEndAsync();
        // The tool spends well under a second of processor time starting; past that it is spinning in the run.
        var waited = Stopwatch.StartNew();
        while (process.TotalProcessorTime < TimeSpan.FromSeconds(1.5) && !process.HasExited && waited.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(50);
        }

        Assert.False(process.HasExited, "the endless run ended by itself");
        Assert.False(Ignores(signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the tool was started with the signal ignored");
        Assert.Equal(0, kill(process.Id, signal));
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the tool did not stop");
        Assert.Equal((130, "ebpf: interrupted\n"), (process.ExitCode, (await error).ReplaceLineEndings("\n")));
    }

    [Fact]
    public void The_plugin_process_answers_the_issue_17_program_with_one_line_instead_of_aborting()
    {
        // The IL engine used to crash on this program, and the plugin died with SIGABRT (exit 134).
        var (code, output, error) = Start(CrossFunctionJumpTests.Hex(CrossFunctionJumpTests.IssueProgram()), "plugin", "--engine", "il");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("outside the function", error);
    }
}
