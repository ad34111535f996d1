using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ebpf.Execution;

/// <summary>
/// The programs with run leases (x64) that one thread is running, one slot per nesting level: a hazard-pointer scheme
/// that replaces the shared lease counter. A plain run on the thread's run state needs no slot: the state's
/// <see cref="RunState.LeasedProgram"/> while its watch word is odd is the run's hazard pointer (the same protocol with
/// the watch word's store in place of the slot's); the slots serve the other runs on the thread's state and nested runs. A run publishes its program in the next free slot of its
/// thread with a plain store, then reads the program's disposed flag; <see cref="CompiledProgram.Dispose()"/> sets that
/// flag, runs a process-wide memory barrier, and only then releases the program's resources if no slot of any thread
/// holds it. The barrier makes the pair safe without an atomic instruction on the run path: either the run sees the
/// flag (and leaves without running), or its store is visible to every later scan (and the last run out releases). A
/// run nested deeper than <see cref="Depth"/> falls back to the counted lease.
/// <para>
/// It also holds the thread's run state (<see cref="State"/>, pinned, used by the runs on the thread's
/// <see cref="RunStack"/>), which the <see cref="RunWatchdog"/> reads through the same list of threads.
/// </para>
/// </summary>
internal sealed unsafe class RunSlots
{
    /// <summary>How many nested leased runs one thread can hold in slots.</summary>
    public const int Depth = 4;

    private static readonly Lock Gate = new();

    /// <summary>Every live thread's slots (replaced, never changed in place, under <see cref="Gate"/>).</summary>
    private static RunSlots[] all = [];

    [ThreadStatic]
    private static RunSlots? current;

    private readonly Thread owner;
    private readonly Slot[] slots = new Slot[Depth];
    private int depth;

    /// <summary>
    /// The pinned storage of <see cref="State"/> (kept alive by this object; collected with it when the thread is
    /// gone): two pages, so that the state can sit in the middle of a page (see <see cref="RunStack.PageSize"/>).
    /// </summary>
    private readonly byte[] stateStorage = GC.AllocateArray<byte>(2 * RunStack.PageSize, pinned: true);

    private RunSlots(Thread owner)
    {
        this.owner = owner;
        State = (RunState*)(RunStack.PageAfter((byte*)Unsafe.AsPointer(ref stateStorage[0])) + RunStack.StateOffsetInPage);
        State->OwnerSlots = GCHandle.ToIntPtr(GCHandle.Alloc(this, GCHandleType.Weak));
    }

    /// <summary>The run state of the runs on this thread's <see cref="RunStack"/> (pinned; its watch word says whether one is running).</summary>
    public RunState* State { get; }

    /// <summary>The <see cref="RunState.RunSequence"/> the watchdog last saw here (only the watchdog uses it).</summary>
    public int WatchedSequence { get; set; }

    /// <summary>When (<see cref="RunWatchdog.Now"/>) the watchdog first saw <see cref="WatchedSequence"/>.</summary>
    public long WatchedSince { get; set; }

    /// <summary>Every registered thread's slots (dead threads are dropped at the next registration or <see cref="DropEnded"/>).</summary>
    public static RunSlots[] All => Volatile.Read(ref all);

    /// <summary>
    /// Drops the threads that ended from <see cref="All"/>, so that their slots and run states can be collected (the
    /// watchdog calls it: a process whose threads come and go without new ones running programs would keep them).
    /// </summary>
    public static void DropEnded()
    {
        lock (Gate)
        {
            var current = all;
            if (Array.Exists(current, s => !s.owner.IsAlive))
            {
                Volatile.Write(ref all, Array.FindAll(current, s => s.owner.IsAlive));
                Array.ForEach(current, s => s.ForgetIfEnded());
            }
        }
    }

    /// <summary>
    /// The slots of the thread running on <paramref name="state"/>: its owner when it is a thread's run state (one load
    /// through <see cref="RunState.OwnerSlots"/>), else this thread's (<see cref="Current"/>). The caller runs on
    /// <paramref name="state"/>, so the owner is this thread and alive.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RunSlots Of(RunState* state) =>
        state->OwnerSlots != 0 ? Unsafe.As<RunSlots>(GCHandle.FromIntPtr(state->OwnerSlots).Target!) : Current;

    /// <summary>This thread's slots (registered on first use).</summary>
    public static RunSlots Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => current ?? Register();
    }

    /// <summary>
    /// Publishes <paramref name="program"/> (a program's run id) in this thread's next slot; false when all slots are in
    /// use (the caller then takes a counted lease). The caller reads the disposed flag after this and calls
    /// <see cref="Exit"/> when done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter(long program)
    {
        int level = depth;
        if (level == Depth)
        {
            return false;
        }

        Volatile.Write(ref slots[level].Program, program);
        depth = level + 1;
        return true;
    }

    /// <summary>Clears the slot the last <see cref="TryEnter"/> of this thread filled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit()
    {
        int level = depth - 1;
        depth = level;
        Volatile.Write(ref slots[level].Program, 0);
    }

    /// <summary>
    /// Clears the slot under this thread's top one and moves the top one's program down into it (a tail-call target
    /// whose code returned, while the lease of the tail call it asked for holds the top slot). The program that moves
    /// is published in both slots for a moment, never in none.
    /// </summary>
    public void ExitUnderTop()
    {
        int top = depth - 1;
        Volatile.Write(ref slots[top - 1].Program, slots[top].Program);
        Volatile.Write(ref slots[top].Program, 0);
        depth = top;
    }

    /// <summary>
    /// True when a slot of any thread holds <paramref name="program"/> (a program's run id). Meaningful only after the
    /// program's disposed flag was set and a process-wide barrier ran (see the class remarks); the caller has a full
    /// fence before this call.
    /// </summary>
    public static bool Holds(long program)
    {
        foreach (var thread in Volatile.Read(ref all))
        {
            // A plain run on the thread's state: its lease is the state's program while the watch word is odd.
            long word = Volatile.Read(ref *(long*)thread.State);
            if ((word & (1L << 32)) != 0 && Volatile.Read(ref thread.State->LeasedProgram) == program)
            {
                return true;
            }

            foreach (ref var slot in thread.slots.AsSpan())
            {
                if (Volatile.Read(ref slot.Program) == program)
                {
                    return true;
                }
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RunSlots Register()
    {
        var mine = new RunSlots(Thread.CurrentThread);
        lock (Gate)
        {
            // Threads that ended hold nothing (a run always clears its slot before it returns): drop them here.
            var live = new List<RunSlots>(all.Length + 1);
            foreach (var other in all)
            {
                if (other.owner.IsAlive)
                {
                    live.Add(other);
                }
                else
                {
                    other.ForgetIfEnded();
                }
            }

            live.Add(mine);
            Volatile.Write(ref all, live.ToArray());
        }

        current = mine;
        return mine;
    }

    /// <summary>
    /// Frees the handle in <see cref="RunState.OwnerSlots"/> once the owner thread has ended (nothing runs on its state
    /// any more), when the thread is dropped from <see cref="All"/> (under <see cref="Gate"/>, so once).
    /// </summary>
    private void ForgetIfEnded()
    {
        if (!owner.IsAlive && State->OwnerSlots != 0)
        {
            GCHandle.FromIntPtr(State->OwnerSlots).Free();
            State->OwnerSlots = 0;
        }
    }

    /// <summary>One slot: the <see cref="CompiledProgram"/> run id of the program it holds, or 0 (an integer, so a store
    /// needs no GC write barrier; the running thread keeps the program itself alive).</summary>
    private struct Slot
    {
        public long Program;
    }
}
