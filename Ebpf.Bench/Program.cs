namespace Ebpf.Bench;

/// <summary>The benchmark suite (arrives with the benchmark issue).</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => 0;
}
