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

        return EbpfTool.Run(args, Console.Out, Console.Error, interactive: !Console.IsErrorRedirected, input: Console.In);
    }
}
