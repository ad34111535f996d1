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
    public LoopGuard(int head, ImmutableArray<int> instructions, ImmutableArray<int> blockStarts, ImmutableArray<LoopEntryEquality> entryConditions, ImmutableArray<GuardedAccess> accesses, TripBound? trip)
    {
        Trip = trip;
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

    /// <summary>
    /// The test that bounds how often the loop goes round from the registers on entry, or null: with it the guard may
    /// pick the whole-range form (an unchecked copy with no per-iteration count), see <see cref="LoopGuardPlan"/>.
    /// </summary>
    public TripBound? Trip { get; }

    /// <summary>
    /// The instructions of an unchecked copy in order, each with the pc control continues at after it when it falls
    /// through to an instruction that does not follow it in the copy (the engine emits a jump there), else -1.
    /// </summary>
    public IEnumerable<(int Pc, int JumpAfter)> CopyLayout(EbpfProgram program)
    {
        for (int i = 0; i < Instructions.Length; i++)
        {
            int pc = Instructions[i];
            var insn = program.Decoded[pc];
            int next = pc + insn.Length;
            bool jump = insn.FallsThrough && (i + 1 == Instructions.Length || Instructions[i + 1] != next);
            yield return (pc, jump ? next : -1);
        }
    }

    /// <summary>True when <paramref name="pc"/> is an instruction of the loop.</summary>
    public bool Contains(int pc) => pcs.Contains(pc);

    /// <summary>True when the access at <paramref name="pc"/> is one the guard covers.</summary>
    public bool IsGuarded(int pc) => guarded.ContainsKey(pc);
}
