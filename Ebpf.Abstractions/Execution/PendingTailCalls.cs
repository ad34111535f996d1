namespace Ebpf.Execution;

/// <summary>
/// The tail calls requested on one thread and not entered yet: for each, the address of the run state that asked
/// (<see cref="RunState.TailCallTarget"/> is nonzero while it waits), the target, and whether the target's run lease is
/// a slot of the thread (<see cref="RunSlots"/>) or a counted lease. The run state lives in unmanaged memory and cannot
/// hold the target itself; keeping it here costs no allocation per tail call (a GC handle did). Nearly always empty or
/// holding one entry; a run nested in a helper adds its own under its own state's address. Used only by the thread
/// that owns it.
/// </summary>
internal sealed class PendingTailCalls
{
    [ThreadStatic]
    private static PendingTailCalls? current;

    private Entry[] entries = new Entry[2];
    private int count;

    /// <summary>This thread's pending tail calls.</summary>
    public static PendingTailCalls Current => current ??= new PendingTailCalls();

    /// <summary>
    /// The run slots of the thread that owns this list (created on it), where the tail calls' leases are taken and ended:
    /// kept here so that a tail call looks up one thread-static, not two.
    /// </summary>
    public RunSlots Slots { get; } = RunSlots.Current;

    /// <summary>Records that the run whose state is at <paramref name="state"/> continues with <paramref name="target"/>.</summary>
    public void Add(nint state, CompiledProgram target, bool slotted)
    {
        if (count == entries.Length)
        {
            Array.Resize(ref entries, count * 2);
        }

        entries[count++] = new Entry { State = state, Target = target, Slotted = slotted };
    }

    /// <summary>Whether the pending tail call of the run state at <paramref name="state"/> holds its lease in a slot.</summary>
    public bool IsSlotted(nint state) => entries[IndexOf(state)].Slotted;

    /// <summary>Removes and returns the pending tail call of the run state at <paramref name="state"/>.</summary>
    public CompiledProgram Take(nint state, out bool slotted)
    {
        int index = IndexOf(state);
        var entry = entries[index];
        entries[index] = entries[--count];
        entries[count] = default;
        slotted = entry.Slotted;
        return entry.Target!;
    }

    private int IndexOf(nint state)
    {
        for (int i = count - 1; i >= 0; i--)
        {
            if (entries[i].State == state)
            {
                return i;
            }
        }

        throw new InvalidOperationException("no tail call is pending for this run (the run state says one is)");
    }

    private struct Entry
    {
        public nint State;
        public CompiledProgram? Target;
        public bool Slotted;
    }
}
