namespace Ebpf.X64.Compiler;

/// <summary>
/// How a program's helper calls return to the host (see <see cref="HelperReturnAnalysis"/>).
/// </summary>
/// <param name="YieldInterval">0 when every loop passes a helper call; otherwise how many backward jumps the code may
/// take before it returns to the host without a helper call (a yield), so that it never runs longer than
/// <see cref="HelperReturnAnalysis.MaxStretch"/> slots, about twice over, between two returns.</param>
internal sealed record HelperReturnPlan(long YieldInterval)
{
    /// <summary>True when the code counts backward jumps and yields to the host (some loop calls no helper).</summary>
    public bool Yields => YieldInterval > 0;
}
