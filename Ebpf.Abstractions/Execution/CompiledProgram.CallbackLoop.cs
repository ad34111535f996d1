namespace Ebpf.Execution;

/// <summary>
/// The loop of <c>bpf_loop</c> (<see cref="Helpers.HelperContext.CallFunctionLoop"/>): the callback is called once per
/// index from here, so that what is the same for every call (the function found, its frame checked, the engine's own
/// state for entering it) is done once per loop rather than once per call. An engine whose callback entry has such
/// state overrides <see cref="ExecuteCallbackLoop"/>; the others use the loop over <see cref="ExecuteCallback"/>.
/// </summary>
public abstract unsafe partial class CompiledProgram
{
    /// <summary>
    /// Calls callback <paramref name="function"/> with r1 = the index and r2 = <paramref name="data"/> for the indexes 0,
    /// 1, ... until it returns nonzero or <paramref name="count"/> calls were made, each in the frame below
    /// <paramref name="frameTop"/> (checked by the caller), on the run's budget. Returns the number of calls made, or,
    /// when the run was asked to end during a call (<see cref="RunState.StopRequested"/>), that call's r0. Between two
    /// calls a stop request from outside (<see cref="RunState.CancelRequested"/>) ends the run with the error of the
    /// helper call at <paramref name="pc"/>. Errors of a call end the run as from <see cref="ExecuteCallback"/>.
    /// </summary>
    internal ulong RunCallbackLoop(ref RunState state, int function, ulong frameTop, uint count, ulong data, int pc) =>
        ExecuteCallbackLoop(ref state, function, frameTop, count, data, pc);

    /// <summary>The loop of <see cref="RunCallbackLoop"/>; this one calls <see cref="ExecuteCallback"/> per index.</summary>
    private protected virtual ulong ExecuteCallbackLoop(ref RunState state, int function, ulong frameTop, uint count, ulong data, int pc)
    {
        for (uint i = 0; i < count; i++)
        {
            ThrowIfCancelRequested(Program, ref state, pc);
            ulong r0 = ExecuteCallback(ref state, function, frameTop, i, data, 0, 0, 0);
            if (LoopEnds(ref state, r0, i, out ulong result))
            {
                return result;
            }
        }

        return count;
    }

    /// <summary>
    /// Throws the stop of a run asked to end from outside (<see cref="RunState.CancelRequested"/>), seen before a callback
    /// of the helper call at <paramref name="pc"/> of <paramref name="program"/>.
    /// </summary>
    internal static void ThrowIfCancelRequested(EbpfProgram program, ref RunState state, int pc)
    {
        if (Volatile.Read(ref state.CancelRequested) != 0)
        {
            // A loop of short callbacks (no backward jump to poll at) stops between two of them.
            throw CancelledAt(program, pc, ref state);
        }
    }

    /// <summary>
    /// Whether the loop ends after the call with index <paramref name="index"/> that returned <paramref name="r0"/>: the
    /// run was asked to end (<paramref name="result"/> is then r0) or the callback returned nonzero (the number of calls).
    /// </summary>
    private protected static bool LoopEnds(ref RunState state, ulong r0, uint index, out ulong result)
    {
        if (state.StopRequested != 0)
        {
            result = r0;
            return true;
        }

        result = index + 1UL;
        return r0 != 0;
    }
}
