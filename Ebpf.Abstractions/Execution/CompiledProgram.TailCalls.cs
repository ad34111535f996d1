using System.Runtime.CompilerServices;

namespace Ebpf.Execution;

/// <summary>
/// Entering a tail call's target: from the run path once the caller's code has returned
/// (<see cref="ContinueTailCalls"/>, for the tail calls <see cref="Helpers.HelperContext.TailCall"/> requested), or
/// straight from an engine's own helper-call loop, without the helper, the pending list and the caller's return
/// (<see cref="TryEnterTailCallTarget"/>). Both run the target the same way (<see cref="RunTailCall"/>).
/// </summary>
public abstract unsafe partial class CompiledProgram
{
    /// <summary>
    /// Continues the run on <paramref name="state"/> with <paramref name="target"/> at a <c>bpf_tail_call</c> the engine
    /// handles itself, when the helper would enter it: the call is not made from a callback, the target was compiled
    /// with this program's environment and for its context (otherwise the helper fails or falls through, and the
    /// engine calls it instead: false, nothing changed; so does a run asked to stop, whose stop the helper's call
    /// reports), and its lease can be taken (false when it has been disposed:
    /// the call falls through, as the helper's does). The caller's code must not run again on this run (the engine
    /// has left it) and the run's budget must be in the state. Counts the tail call, runs the target (the stack
    /// zeroed again as for <see cref="ContinueTailCalls"/>) and returns its r0 in <paramref name="r0"/>; an error of the
    /// target ends the run with the target's pc.
    /// </summary>
    private protected bool TryEnterTailCallTarget(ref RunState state, CompiledProgram target, out ulong r0)
    {
        r0 = 0;

        // A stop requested from outside goes through the helper too, which reports it at the call as it returns.
        if (state.CallbackDepth != 0 || state.TailCallTarget != 0 || target.Environment != Environment
            || !ReferenceEquals(target.Options.EntryContext, Options.EntryContext) || Volatile.Read(ref state.CancelRequested) != 0)
        {
            return false;
        }

        var slots = RunSlots.Of((RunState*)Unsafe.AsPointer(ref state));
        if (!target.TryEnterTailCall(slots, out bool slotted))
        {
            return false;
        }

        state.TailCallCount++;
        r0 = RunTailCall(ref state, target, slots, slotted, null);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="target"/>, whose lease was taken (<see cref="TryEnterTailCall"/>: a slot of
    /// <paramref name="slots"/> when <paramref name="slotted"/>), as a tail call of the run on <paramref name="state"/>:
    /// it starts on a stack area zeroed again (what the programs before could write is cleared) with the rest of the
    /// budget; its lease ends when its code has returned. When the target asked for the next tail call through the
    /// helper, that one's slot sits above its own (see <see cref="EndTailCall"/>); <paramref name="pending"/> is this
    /// thread's list of pending tail calls when the caller has it at hand (looked up here only when needed otherwise).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong RunTailCall(ref RunState state, CompiledProgram target, RunSlots slots, bool slotted, PendingTailCalls? pending)
    {
        int area = (int)(state.StackEnd - state.StackStart);
        RunStack.Clear((byte*)state.StackEnd, state.DirtyStackBytes);
        state.DirtyStackBytes = state.Observer != 0 ? area : Math.Min(target.dirtyStackBytes, area);
        bool completed = false;
        ulong r0;
        try
        {
            r0 = target.Execute(ref state);
            completed = true;
        }
        finally
        {
            bool nextAbove = false;
            if (state.TailCallTarget != 0)
            {
                if (completed)
                {
                    nextAbove = (pending ?? PendingTailCalls.Current).IsSlotted((nint)Unsafe.AsPointer(ref state));
                }
                else
                {
                    // The target failed after asking for the next one: that lease, above this one's, ends first.
                    ReleasePendingTailCall(ref state);
                }
            }

            target.EndTailCall(slots, slotted, nextAbove);
        }

        return r0;
    }
}
