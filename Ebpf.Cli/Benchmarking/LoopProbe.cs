namespace Ebpf.Cli.Benchmarking;

/// <summary>
/// Stands in for a compiled program in the measuring loop and does nothing: its run returns 0 at once. Timing the
/// loop over it gives what the loop itself costs per run (the delegate call, the loop counter), the part of every
/// ns/run figure that is not the engine's.
/// </summary>
internal sealed class LoopProbe
{
    /// <summary>Does nothing; the same shape as <see cref="ICompiledProgram.Run(Span{byte})"/>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Performance",
        "CA1822:Mark members as static",
        Justification = "A delegate bound to an instance method is called like one bound to a compiled program; a static method's delegate goes through a shuffle thunk and would cost a different amount.")]
    public ulong Run(Span<byte> memory) => 0;
}
