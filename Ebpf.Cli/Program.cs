using System.Runtime.InteropServices;
using Ebpf.Cli.Plugin;

namespace Ebpf.Cli;

/// <summary>The <c>ebpf</c> command-line tool.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        // bpf_conformance plugin mode: the runner puts the memory argument before the plugin options.
        if (ConformancePlugin.TryGetPluginArguments(args, out var pluginArgs))
        {
            return ConformancePlugin.Run(pluginArgs, Console.In, Console.Out, Console.Error);
        }

        using var stopping = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, stopping));
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, stopping));
        return EbpfTool.Run(args, Console.Out, Console.Error, interactive: !Console.IsErrorRedirected && !Console.IsOutputRedirected, stopping: stopping.Token);
    }

    /// <summary>The first Ctrl+C or SIGTERM cancels the running command, which ends with "interrupted"; a second one
    /// ends the process the usual way.</summary>
    private static void Stop(PosixSignalContext context, CancellationTokenSource stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        context.Cancel = true;
        stopping.Cancel();
    }
}
