using System.Runtime.CompilerServices;

namespace Ebpf.Cli.Benchmarking;

/// <summary>
/// Stands in for a compiled program in the measuring loop and does nothing: its run is a call that returns 0 at once.
/// Timing the loop over it gives what the loop itself costs per run (the loop counter and one call, which the runtime
/// may not inline away), the part of every ns/run figure that is not the engine's.
/// </summary>
internal readonly struct LoopProbe : ISpanRun
{
    /// <summary>Does nothing; the same shape as <see cref="ICompiledProgram.Run(Span{byte})"/>, and never inlined.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public ulong Run(Span<byte> memory) => 0;
}
