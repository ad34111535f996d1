using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Diagnostics;

namespace Ebpf.Execution;

/// <summary>
/// The direct entry (see <see cref="DirectEntry"/>): an engine that compiled one for a qualifying program is called
/// with r1 and r2 and returns r0, with no run state, no region table, no stack area and no thread-static look-up.
/// </summary>
public abstract unsafe partial class CompiledProgram
{
    /// <summary>Whether the program qualifies for a direct entry (<see cref="DirectEntry.Qualifies"/>).</summary>
    private readonly bool directEligible;

    /// <summary>Whether the engine made a direct entry (see <see cref="UseDirectEntry(Func{ulong, ulong, ulong})"/>), which plain runs then take when they can.</summary>
    private bool direct;

    /// <summary>The engine's native direct body (see <see cref="UseDirectEntry(nint)"/>), or 0 when its entry is <see cref="managedDirect"/>.</summary>
    private nint nativeDirect;

    /// <summary>
    /// The engine's managed direct entry (see <see cref="UseDirectEntry(Func{ulong, ulong, ulong})"/>), or null when it
    /// has a native body or none.
    /// </summary>
    private Func<ulong, ulong, ulong>? managedDirect;

    /// <summary>Whether the program qualifies for a direct entry: an engine that has one compiles it only then.</summary>
    private protected bool DirectEligible => directEligible;

    /// <summary>
    /// Whether the program qualifies for the restartable direct entry (<see cref="DirectEntry.QualifiesWithLoops"/>): an
    /// engine that has one (il) compiles it only then, and passes it to <see cref="UseDirectEntry(Func{ulong, ulong, ulong})"/>
    /// as it would a plain direct entry. Its entry gives up after <see cref="DirectEntry.LoopSteps"/> backward jumps
    /// by returning <see cref="RestartDirect"/>'s result.
    /// </summary>
    private protected bool LoopDirectEligible => loopDirectEligible;

    /// <summary>Whether the program qualifies for the restartable direct entry (see <see cref="LoopDirectEligible"/>).</summary>
    private readonly bool loopDirectEligible;

    /// <summary>
    /// How many more runs take the plain path before the restartable direct entry is tried again: set by
    /// <see cref="RestartDirect"/> (the runs of this program have been long lately), counted down by the runs that
    /// skipped the entry (see <see cref="SkipDirect"/>). A plain field read on every direct run and written only by
    /// runs that gave up or skipped: the threads that share a program race on it harmlessly (a lost update only
    /// shortens or lengthens a skip).
    /// </summary>
    private int directSkips;

    /// <summary>
    /// The runs that take the plain path after a restartable direct entry gave up (see <see cref="directSkips"/>): one
    /// wasted attempt in this many runs, when the runs are long, costs them at most the attempt's
    /// <see cref="DirectEntry.LoopSteps"/> backward jumps divided by it.
    /// </summary>
    internal const int DirectSkipRuns = 64;

    /// <summary>
    /// Called by a restartable direct entry (see <see cref="LoopDirectEligible"/>) that has taken
    /// <see cref="DirectEntry.LoopSteps"/> backward jumps without ending, with the r1 and r2 it was called with (the
    /// input, 0 when it is empty, and its length): runs the program again from its first instruction on the plain path,
    /// which is watched, cancellable and budgeted like any plain run, and returns its r0 (or throws its error). The
    /// attempt wrote no memory (see <see cref="DirectEntry.QualifiesWithLoops"/>), so the plain run sees the input as the
    /// attempt did. The next <see cref="DirectSkipRuns"/> runs skip the direct entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal ulong RestartDirect(ulong r1, ulong r2)
    {
        directSkips = DirectSkipRuns;
        return RunPlainOutOfLine((byte*)r1, r2);
    }

    /// <summary>
    /// The fault word of a native direct body (see <see cref="UseDirectEntry(nint)"/>) of a program with loops (see
    /// <see cref="LoopDirectEligible"/>) that spent its <see cref="DirectEntry.LoopSteps"/> backward jumps: the run
    /// starts again on the plain path (<see cref="RestartDirect"/>). All ones, which no failed check's fault word is.
    /// </summary>
    internal const ulong NativeDirectRestart = ulong.MaxValue;

    /// <summary>How many more runs skip the restartable direct entry (see <see cref="directSkips"/>; for tests).</summary>
    internal int DirectSkips => directSkips;

    /// <summary>Counts down <see cref="directSkips"/> for a run that takes the plain path, when it is counting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SkipDirect()
    {
        if (directSkips > 0)
        {
            directSkips--;
        }
    }

    /// <summary>The budget a run starts with (<see cref="ExecutionOptions.InstructionBudget"/>, or <see cref="long.MaxValue"/>).</summary>
    private protected long StartBudget => budget;

    /// <summary>True when plain runs of this program on memory without metadata take the engine's direct entry (for tests and benchmarks).</summary>
    internal bool HasDirectEntry => direct;

    /// <summary>
    /// Called by an engine's constructor, for a program that is <see cref="DirectEligible"/>, with its direct entry: a
    /// method of r1 and r2 (the input and its length) that returns r0, and throws <see cref="DirectViolation"/>'s error
    /// for an access outside the input. The delegate keeps what the entry's code needs alive. A delegate rather than a
    /// virtual method: a run calls the engine's method through it with no virtual dispatch between (il's delegate is the
    /// direct entry's dynamic method itself).
    /// </summary>
    private protected void UseDirectEntry(Func<ulong, ulong, ulong> entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        MarkDirect();
        managedDirect = entry;
    }

    /// <summary>Makes plain runs take the direct entry; refuses a program that does not qualify.</summary>
    private void MarkDirect()
    {
        if (!directEligible && !loopDirectEligible)
        {
            throw new InvalidOperationException($"'{Program.Name}' does not qualify for a direct entry");
        }

        direct = true;
    }

    /// <summary>
    /// Called by an engine's constructor, instead of <see cref="UseDirectEntry(Func{ulong, ulong, ulong})"/>, when its direct entry is native code
    /// at <paramref name="body"/>: a function <c>(ulong r1, ulong r2) -&gt; (ulong r0, ulong fault)</c> that returns the
    /// pair as the host returns a 16-byte structure of two integers, calls nothing, never blocks and never re-enters the
    /// runtime (it is called without the GC transition), and stays mapped while this object is reachable. A fault word
    /// other than 0 reports a failed memory check, with the faulting address in place of r0: the run throws
    /// <see cref="NativeDirectFault"/>'s error; the body of a program with loops (<see cref="LoopDirectEligible"/>)
    /// returns <see cref="NativeDirectRestart"/> when its backward jumps are spent. The run then calls the body itself,
    /// with no virtual call between.
    /// </summary>
    private protected void UseDirectEntry(nint body)
    {
        MarkDirect();
        nativeDirect = body;
    }

    /// <summary>
    /// The run without metadata of a program with a direct entry: when nobody listens to the run metrics and the
    /// environment has no memory regions (see <see cref="DirectEntry"/>) and the program is not disposed, the engine's
    /// entry with r1 = the input (0 when it is empty, as on the plain path) and r2 = its length; otherwise the plain run
    /// (which throws for a disposed program). Not
    /// inlined: inlined into <see cref="Run(byte*, ulong, byte*, ulong)"/>, it kept the JIT from inlining the brief run
    /// of the programs without a direct entry there (the interpreter's <c>return</c> measured about 10 ns slower).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong RunDirect(byte* memory, ulong memoryLength)
    {
        if (!DirectReady())
        {
            SkipDirect();
            return RunPlainOutOfLine(memory, memoryLength);
        }

        ulong r1 = memoryLength != 0 ? (ulong)memory : 0;
        return nativeDirect == 0 ? managedDirect!(r1, memoryLength) : CallNativeDirect(r1, memoryLength);
    }

    /// <summary>
    /// <see cref="Run(Span{byte})"/> of a program whose direct entry is an engine method (<see cref="managedDirect"/>):
    /// the input pinned for the run, then <see cref="RunDirect(byte*, ulong)"/>'s steps. A program with a direct entry
    /// has no entry context (see <see cref="DirectEntry"/>), so the public method's context check has nothing to refuse.
    /// </summary>
    /// <remarks>
    /// Optimized from its first call (as <see cref="RunNativeDirect"/>): a run path left to tiering ran its tier-0 code,
    /// with every check a call of its own, until the runtime's background compilation got to it, which on a loaded host
    /// was after seconds or not within a process's measurement (2.5-5x the optimized time).
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private ulong RunManagedDirect(Span<byte> memory)
    {
        // The direct run first, so that the code compiled without a profile falls through to it. An empty span pins as
        // null, so r1 is 0 for an empty input, as on the plain path.
        if (DirectReady())
        {
            fixed (byte* m = memory)
            {
                return managedDirect!((ulong)m, (ulong)memory.Length);
            }
        }

        return RunSpan(memory);
    }

    /// <summary>
    /// <see cref="Run(Span{byte})"/> of a program whose direct entry is a native body (see <see cref="UseDirectEntry(nint)"/>),
    /// as <see cref="RunManagedDirect"/> is for an engine method, optimized from its first call as that one is.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private ulong RunNativeDirect(Span<byte> memory)
    {
        // The direct run first, so that the code compiled without a profile falls through to it. An empty span pins as
        // null, so r1 is 0 for an empty input, as on the plain path.
        if (DirectReady())
        {
            fixed (byte* m = memory)
            {
                return CallNativeDirect((ulong)m, (ulong)memory.Length);
            }
        }

        return RunSpan(memory);
    }

    /// <summary>
    /// False when the run must take the plain path after all: someone listens to the run metrics, the environment has
    /// memory regions now (see <see cref="DirectEntry"/>), the program was disposed (the plain path then throws
    /// <see cref="ObjectDisposedException"/>), or the runs skip a restartable entry for now (see <see cref="directSkips"/>). It throws nothing itself, so that the direct path keeps no value alive
    /// across a call that might return: the checks before the body save no register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool DirectReady() =>
        !EbpfTelemetry.RunsObserved && Environment.GetPinnedRegions().Length == 0 && Volatile.Read(ref disposed) == 0 && directSkips == 0;

    /// <summary>
    /// Calls the native direct body (see <see cref="UseDirectEntry(nint)"/>) with r1 and r2; returns r0, or the result
    /// of <see cref="NativeDirectEnded"/> when the body reports a fault or a restart. Only that path reads r1 and r2
    /// after the call: they are stored in the caller's frame before it (an address-taken local, which the JIT keeps in
    /// memory) instead of being held in callee-saved registers, which made every direct run push and pop two more
    /// registers.
    /// </summary>
    /// <remarks>
    /// The body is called with the managed calling convention, which on the System V ABI (the only one the x64 engine
    /// runs on) passes r1 and r2 and returns the 16-byte pair in the same registers as the unmanaged one, and so, like
    /// the unmanaged call without the GC transition it replaces, leaves the thread in cooperative mode while the body
    /// runs. What it leaves out is the JIT's inline GC poll after an unmanaged call without the transition
    /// (<c>cmp [g_TrapReturningThreads], 0; jne CORINFO_HELP_POLL_GC</c>): the poll is a call site, so the pair and
    /// <c>this</c> had to outlive it in callee-saved registers, and the direct run pushed and popped four registers where
    /// il's pushes one. Without it the runtime suspends the thread as it does any managed method: in the run method or its
    /// caller, at once after the body returns (the return-address hijack of a partially interruptible method), never in
    /// the body, which is straight-line code or at most <see cref="DirectEntry.LoopSteps"/> backward jumps, calls
    /// nothing and never blocks, so it cannot hold a collection up for longer than the body's own run. No collection
    /// can happen while the body runs either way (the thread is in cooperative mode outside managed code, where the
    /// runtime does not suspend it).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CallNativeDirect(ulong r1, ulong r2)
    {
        DirectInput input;
        input.R1 = r1;
        input.R2 = r2;
        DirectInput* kept = &input;
        var result = ((delegate*<ulong, ulong, NativeDirectResult>)nativeDirect)(r1, r2);
        GC.KeepAlive(this);
        if (result.Fault == 0)
        {
            return result.R0;
        }

        return NativeDirectEnded(result, kept->R1, kept->R2);
    }

    /// <summary>
    /// The end of a native direct run whose body reported <paramref name="result"/>'s fault word: the run from the start
    /// on the plain path for <see cref="NativeDirectRestart"/>, otherwise the fault's error. Out of line, so that the
    /// direct run's common path keeps nothing but r0 after the body returns.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong NativeDirectEnded(NativeDirectResult result, ulong r1, ulong r2)
    {
        if (result.Fault == NativeDirectRestart)
        {
            return RestartDirect(r1, r2);
        }

        ThrowNativeDirectFault(result, r1, r2);
        return 0;
    }

    /// <summary>r1 and r2 of a native direct run, kept in memory for its fault path (see <see cref="CallNativeDirect"/>).</summary>
    private struct DirectInput
    {
        /// <summary>r1: the input's address, or 0 when it is empty.</summary>
        public ulong R1;

        /// <summary>r2: the input's length.</summary>
        public ulong R2;
    }

    /// <summary>
    /// The plain run without metadata, as a call of its own: inlined into <see cref="RunDirect(byte*, ulong)"/>, the plain run's
    /// registers made every direct run save and restore six callee-saved registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong RunPlainOutOfLine(byte* memory, ulong memoryLength) => RunPlain(memory, memoryLength, null, 0);

    /// <summary>What a native direct body returns (see <see cref="UseDirectEntry(nint)"/>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct NativeDirectResult(ulong r0, ulong fault)
    {
        /// <summary>r0, or the faulting address when <see cref="Fault"/> is not 0.</summary>
        public ulong R0 { get; } = r0;

        /// <summary>0, or the engine's description of a failed memory check.</summary>
        public ulong Fault { get; } = fault;
    }

    /// <summary>
    /// Throws the error of a native direct body's fault (see <see cref="NativeDirectFault"/>). The one place a fault word
    /// is read: a method of its own, so that a test can tell from the exception's first frame that the run went through
    /// the body.
    /// </summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNativeDirectFault(NativeDirectResult result, ulong r1, ulong r2) =>
        throw NativeDirectFault(result.Fault, result.R0, r1, r2);

    /// <summary>
    /// The error for a native direct body's fault word <paramref name="fault"/> (not 0) at <paramref name="address"/>, in
    /// a run with r1 = <paramref name="r1"/> and r2 = <paramref name="r2"/>: the plain run's (see <see cref="DirectViolation"/>).
    /// Only called for engines that called <see cref="UseDirectEntry(nint)"/>.
    /// </summary>
    private protected virtual EbpfMemoryAccessException NativeDirectFault(ulong fault, ulong address, ulong r1, ulong r2) =>
        throw new InvalidOperationException($"the {EngineName} engine made no native direct entry for '{Program.Name}'");

    /// <summary>
    /// The error of a direct run whose access at <paramref name="pc"/> fell outside the input <paramref name="r1"/> /
    /// <paramref name="r2"/>: the plain run's error, message included. The regions it names are those a plain run on
    /// this thread has: this thread's stack area (a stack of its own when the area is in use), the input and no other.
    /// </summary>
    internal EbpfMemoryAccessException DirectViolation(int pc, ulong address, ulong size, MemoryAccessKind access, ulong r1, ulong r2)
    {
        RunState state = default;
        var stack = RunStack.Take(StackBytes);
        ulong end = stack is not null ? (ulong)stack.End : (ulong)Unsafe.AsPointer(ref state);
        state.StackStart = end - (ulong)StackBytes;
        state.StackEnd = end;
        state.InputAddress = r1;
        state.InputLength = r2;
        state.ContextAddress = r1;
        state.ContextLength = r2;
        return MemoryGuard.Violation(Program, pc, ref state, address, size, access, end - (ulong)Options.StackSize);
    }
}
