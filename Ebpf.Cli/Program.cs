namespace Ebpf.Cli;

/// <summary>The <c>ebpf</c> command-line tool.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args) =>
        EbpfTool.Run(args, Console.Out, Console.Error, interactive: !Console.IsErrorRedirected);
}
