namespace Ebpf.Analysis;

/// <summary>
/// The loops of a program an engine may compile twice: a copy without the run-time checks of some accesses, entered
/// through a guard, and the ordinary checked loop. Part of a compilation's <see cref="CheckPlan"/> (same program,
/// same options, same regions), found by <see cref="LoopGuardAnalyzer"/>.
/// </summary>
/// <remarks>
/// How an engine uses a <see cref="LoopGuard"/>: where control enters the loop's head from outside, it evaluates the
/// guard on the registers it has: every <see cref="LoopGuard.EntryConditions"/> must hold, and for every guarded access
/// it computes the first address (<see cref="GuardedAccess.Address"/>) and from the region's base and limit (the ones
/// the access' inline check uses) the number of iterations whose address passes that check, using
/// <see cref="GuardedAccess.Step"/>; the minimum over the accesses is the count of iterations the copy may start. The
/// copy decrements it at each arrival at its head and continues in the checked loop, at the head and with the same
/// registers, when it reaches 0; the checked loop's own back edges stay in the checked loop. Every access the copy runs
/// without a check therefore lies where its check would have let it through, so a run ends exactly as with every check
/// on: the same result, or the same fault at the same pc. Nothing depends on the safety analysis' proofs: the guard is
/// a run-time test of the loop's own arithmetic, which the analyzer follows exactly (linear forms modulo 2^64).
/// <para>
/// The whole-range form: when the loop has a <see cref="LoopGuard.Trip"/> (a test on every iteration that ends it once
/// a moving value reaches an invariant one), the guard also works out from the registers on entry how often that test
/// lets the loop go round at most (<see cref="TripBound.Stays"/>). When the loop then arrives at its head no more often
/// than the count allows (stays &lt; count), every access of every iteration lies where its check lets it through, and
/// the engine runs a second unchecked copy whose head does not count. Otherwise it runs the counting copy.
/// </para>
/// </remarks>
internal sealed class LoopGuardPlan
{
    private readonly Dictionary<int, LoopGuard> byHead;

    private LoopGuardPlan(IReadOnlyList<LoopGuard> loops)
    {
        Loops = loops;
        byHead = loops.ToDictionary(l => l.Head);
        GuardedAccessCount = loops.Sum(l => l.Accesses.Length);
    }

    /// <summary>A plan with no guarded loop (memory checks off, checks forced, or a program too long to analyse).</summary>
    public static LoopGuardPlan None { get; } = new([]);

    /// <summary>The guarded loops, by head pc ascending; no two share an instruction.</summary>
    public IReadOnlyList<LoopGuard> Loops { get; }

    /// <summary>The number of accesses the loops' unchecked copies run without a check.</summary>
    public int GuardedAccessCount { get; }

    /// <summary>
    /// The plan for <paramref name="program"/>: loops with at least one access that needs a check
    /// (<paramref name="needsCheck"/>) and whose address the analyzer can follow; <paramref name="regionOf"/> names the
    /// region each access' inline check compares against.
    /// </summary>
    public static LoopGuardPlan Create(EbpfProgram program, Func<int, bool> needsCheck, Func<int, AccessRegion> regionOf)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(needsCheck);
        ArgumentNullException.ThrowIfNull(regionOf);
        var loops = LoopGuardAnalyzer.Find(program, needsCheck, regionOf);
        return loops.Count == 0 ? None : new LoopGuardPlan(loops);
    }

    /// <summary>The guarded loop whose head is <paramref name="pc"/>, or null.</summary>
    public LoopGuard? At(int pc) => byHead.GetValueOrDefault(pc);
}
