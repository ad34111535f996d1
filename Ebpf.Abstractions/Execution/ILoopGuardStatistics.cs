namespace Ebpf.Execution;

/// <summary>
/// What a compilation did with the guarded loops of its <see cref="Analysis.CheckPlan"/>: how many loops got an
/// unchecked copy behind a guard, and how many accesses those copies run without a check. Implemented by the compiled
/// programs of the engines that guard loops; for tests and diagnostics.
/// </summary>
internal interface ILoopGuardStatistics
{
    /// <summary>The loops compiled with a guard and an unchecked copy.</summary>
    int GuardedLoops { get; }

    /// <summary>The accesses the unchecked copies run without a check (each keeps it in the checked loop).</summary>
    int GuardedAccesses { get; }

    /// <summary>
    /// The guarded loops that also got the whole-range form: a second unchecked copy without the per-iteration count,
    /// run when the guard finds on entry that the loop's bound keeps every access in range (see <see cref="Analysis.TripBound"/>).
    /// </summary>
    int WholeRangeLoops { get; }
}
