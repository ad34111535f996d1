namespace Ebpf.Cli;

/// <summary>The <c>ebpf</c> command-line tool (the commands arrive with the CLI issue).</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("ebpf: no commands yet");
        return 2;
    }
}
