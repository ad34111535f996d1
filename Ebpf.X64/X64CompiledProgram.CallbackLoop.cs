using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// <c>bpf_loop</c>'s loop on x64 (see <see cref="CompiledProgram.RunCallbackLoop"/>): one run block for the whole loop,
/// filled once, and the callback's entry called once per index.
/// </summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <inheritdoc />
    /// <remarks>
    /// Of the block, the code of a call writes the saved stack pointer, the status on an error, the budget, the call
    /// frame and the helper arguments (when it calls a helper); each call gets the status, the arguments and the frame
    /// top again, and the budget carries from call to call as the run's budget does (it goes back to the run state
    /// after each call, see <see cref="Finish"/>). The rest of the block is what <see cref="Fill"/> reads from the run
    /// state, which the calls do not change.
    /// </remarks>
    [SkipLocalsInit]
    private protected override ulong ExecuteCallbackLoop(ref RunState state, int function, ulong frameTop, uint count, ulong data, int pc)
    {
        Unsafe.SkipInit(out RunBlock block);
        Fill(ref block, ref state);
        nint code = entry + callbackOffsets[function];
        bool briefCallback = briefFunctions[function];
        for (uint i = 0; i < count; i++)
        {
            ThrowIfCancelRequested(Program, ref state, pc);
            block.Status = (int)RunStatus.Completed;
            block.Arg1 = i;
            block.Arg2 = data;
            block.Arg3 = 0;
            block.Arg4 = 0;
            block.Arg5 = 0;
            block.CallFrame = frameTop;
            ulong r0 = briefCallback
                ? ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)code)(&block)
                : CallWithTransition(code, &block);
            r0 = Finish(ref state, ref block, r0);
            if (LoopEnds(ref state, r0, i, out ulong result))
            {
                return result;
            }
        }

        return count;
    }
}
