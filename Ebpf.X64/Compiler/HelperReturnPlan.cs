namespace Ebpf.X64.Compiler;

/// <summary>
/// How a program's helper calls return to the host (see <see cref="HelperReturnAnalysis"/>).
/// </summary>
/// <param name="YieldInterval">0 when every loop passes a helper call (or, in a program with local calls, a local call);
/// otherwise how many backward jumps the code may take before it returns to the host without a helper call (a yield),
/// so that it never runs longer than <see cref="HelperReturnAnalysis.MaxStretch"/> slots, about twice over, between two
/// returns.</param>
/// <param name="CallInterval">0 in a program of one function; otherwise how many local calls the code may make before
/// it yields (see <see cref="HelperReturnAnalysis"/>): local calls, too, are counted, so that a tree of calls without a
/// helper call or a loop cannot run long between two returns.</param>
internal sealed record HelperReturnPlan(long YieldInterval, long CallInterval = 0)
{
    /// <summary>True when the code counts backward jumps and yields to the host (some loop calls no helper).</summary>
    public bool Yields => YieldInterval > 0;

    /// <summary>True when the code has local calls, so that it leaves for the host with local-call frames live (see
    /// <see cref="HelperReturnAnalysis"/>) and counts its local calls.</summary>
    public bool CountsCalls => CallInterval > 0;
}
