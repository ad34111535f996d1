using System.Runtime.InteropServices;

namespace Ebpf.Execution;

/// <summary>
/// The per-run state every engine shares: where the run's memory is, the budget left, and what helpers asked for
/// (stop, tail call). A plain run uses its thread's pinned state (<see cref="RunSlots"/>), kept between runs and rewritten
/// when another program runs on the thread; other runs keep one of their own. It is
/// blittable so native code can read and write it. Engines use it; programs never see it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RunState
{
    /// <summary>
    /// Nonzero once the run was asked to stop from outside (its token was cancelled, its timeout passed, or the
    /// <see cref="RunWatchdog"/> found it older than its <see cref="ExecutionOptions.RunTimeLimit"/>). Written by another
    /// thread; engines read it with a volatile load at every backward jump (the JITs) or once per slice of
    /// <see cref="CompiledProgram.CancellationSlice"/> instructions (the interpreter), then stop through
    /// <see cref="CompiledProgram.CancelledAt"/>. The low half of the watch word (see <see cref="RunSequence"/>): it sits
    /// first so that the word is 8-byte aligned.
    /// </summary>
    public int CancelRequested;

    /// <summary>
    /// The high half of the watch word <c>RunSequence &lt;&lt; 32 | CancelRequested</c> of a run state that lives in a
    /// thread's run area (<see cref="RunSlots"/>): odd while a run uses the state, even between runs, one more at each
    /// start and end. A run writes the whole word with one plain store at its start (odd, not cancelled) and at its end;
    /// the watchdog stops a run with a compare-and-exchange of the whole word, so it never stops a run that ended or a
    /// later run on the thread (their sequence differs).
    /// </summary>
    public int RunSequence;

    /// <summary>
    /// The run's <see cref="ExecutionOptions.RunTimeLimit"/> in <see cref="TimeSpan"/> ticks, or 0
    /// when the watchdog must leave the run alone (no limit, or an observed run). Written before the watch word.
    /// </summary>
    public long WatchLimit;
    /// <summary>The initial value of r1: the metadata buffer when there is one, otherwise the input memory (0 when empty).</summary>
    public ulong ContextAddress;

    /// <summary>The initial value of r2: the length of what r1 points at.</summary>
    public ulong ContextLength;

    /// <summary>The input (packet) memory: first byte.</summary>
    public ulong InputAddress;

    /// <summary>The input (packet) memory: length in bytes (0 when the run has no memory).</summary>
    public ulong InputLength;

    /// <summary>The metadata buffer: first byte.</summary>
    public ulong MetadataAddress;

    /// <summary>The metadata buffer: length in bytes (0 when there is none).</summary>
    public ulong MetadataLength;

    /// <summary>The lowest byte of the whole stack area (all frames).</summary>
    public ulong StackStart;

    /// <summary>One past the highest byte of the stack area: the entry function's r10.</summary>
    public ulong StackEnd;

    /// <summary>The environment's fixed regions (map values, allowed ranges): a pinned table.</summary>
    public MemoryRegion* Regions;

    /// <summary>The number of entries of <see cref="Regions"/>.</summary>
    public int RegionCount;

    /// <summary>Nonzero when a helper asked the run to end after it returns (with r0 = <see cref="StopValue"/>).</summary>
    public int StopRequested;

    /// <summary>Instructions the run may still execute (<see cref="long.MaxValue"/> when unlimited).</summary>
    public long BudgetRemaining;

    /// <summary>The value r0 takes when a helper stops the run.</summary>
    public ulong StopValue;

    /// <summary>Nonzero while a tail call is pending: its target is in the thread's <see cref="PendingTailCalls"/>, under this state's address.</summary>
    public nint TailCallTarget;

    /// <summary>How many tail calls this run has made so far.</summary>
    public int TailCallCount;

    /// <summary>
    /// Nonzero when the run can be stopped from outside (the interpreter then slices its budget):
    /// <see cref="CompiledProgram.ByWatchdogOnly"/> when only the watchdog can stop it, 2 when a token or a timer can.
    /// </summary>
    public int Cancellable;

    /// <summary>
    /// A <see cref="GCHandle"/> (as an integer) of the <see cref="Diagnostics.IInstructionObserver"/> watching the run,
    /// or 0 (engines that support observation call it before every instruction; the others never run observed).
    /// </summary>
    public nint Observer;

    /// <summary>
    /// The bytes at the top of the stack area the run's programs so far can have written (see
    /// <see cref="StackFootprint"/>): what the run zeroes when it ends, and before a tail call.
    /// </summary>
    public int DirtyStackBytes;

    /// <summary>
    /// While the IL engine's code calls an rbpf-style helper directly: the pc of the call plus one, else 0. An exception
    /// that escapes the helper is turned into an <see cref="EbpfHelperException"/> for that call where the run ends.
    /// </summary>
    public int HelperPc;

    /// <summary>
    /// The run id of the program whose runs this state is prepared for (0 when that program takes no run lease). On a
    /// thread's state it is the run lease of the run in progress: while the watch word is odd (see
    /// <see cref="RunSequence"/>), <see cref="RunSlots.Holds"/> counts the program as running on the thread, so a plain
    /// run takes and gives back its lease with the two stores of the watch word it makes anyway.
    /// </summary>
    public long LeasedProgram;

    /// <summary>How many program functions helpers are running as callbacks (see <see cref="Helpers.HelperContext.CallFunction"/>) right now.</summary>
    public int CallbackDepth;

    /// <summary>
    /// On a thread's run state: a weak <see cref="GCHandle"/> (as an integer) of the <see cref="RunSlots"/> that owns it
    /// (the running thread's), written once when the state is made; 0 on a run's own state. A tail call entered by an
    /// engine finds the thread's slots through it (<see cref="RunSlots.Of"/>) rather than through a thread-static look-up.
    /// </summary>
    public nint OwnerSlots;
}
