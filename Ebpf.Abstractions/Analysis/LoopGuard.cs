using System.Collections.Immutable;

namespace Ebpf.Analysis;

/// <summary>
/// A natural loop an engine may run as an unchecked copy behind one guard (see <see cref="LoopGuardPlan"/>): its head
/// (the only entry), its instructions, the entry conditions and the accesses whose checks the copy leaves out.
/// </summary>
internal sealed class LoopGuard
{
    private readonly HashSet<int> pcs;
    private readonly Dictionary<int, GuardedAccess> guarded;

    /// <summary>Describes a loop found by <see cref="LoopGuardAnalyzer"/>.</summary>
    public LoopGuard(int head, ImmutableArray<int> instructions, ImmutableArray<int> blockStarts, ImmutableArray<LoopEntryEquality> entryConditions, ImmutableArray<GuardedAccess> accesses)
    {
        Head = head;
        Instructions = instructions;
        BlockStarts = blockStarts;
        EntryConditions = entryConditions;
        Accesses = accesses;
        pcs = [.. instructions];
        guarded = accesses.ToDictionary(a => a.Pc);
    }

    /// <summary>The loop's head: every path into the loop from outside enters here.</summary>
    public int Head { get; }

    /// <summary>The pcs of the loop's instructions (first slots only), ascending.</summary>
    public ImmutableArray<int> Instructions { get; }

    /// <summary>The first pcs of the loop's basic blocks, ascending.</summary>
    public ImmutableArray<int> BlockStarts { get; }

    /// <summary>What must hold on entry for the accesses' address forms to be exact.</summary>
    public ImmutableArray<LoopEntryEquality> EntryConditions { get; }

    /// <summary>The accesses the unchecked copy runs without their checks.</summary>
    public ImmutableArray<GuardedAccess> Accesses { get; }

    /// <summary>True when <paramref name="pc"/> is an instruction of the loop.</summary>
    public bool Contains(int pc) => pcs.Contains(pc);

    /// <summary>True when the access at <paramref name="pc"/> is one the guard covers.</summary>
    public bool IsGuarded(int pc) => guarded.ContainsKey(pc);
}
