using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>Repeated runs of a brief program (a kernel test run's <c>--repeat</c>): the run block stays in one frame.</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <inheritdoc />
    /// <remarks>
    /// Each run is <see cref="ExecuteBrief"/>'s: the disposed check, the block filled from the run state (with the
    /// budget the run starts with and the environment's current region table), the code called without the GC
    /// transition, the stack bytes it could write cleared, and <see cref="Finish"/>. What the loop saves is the
    /// run path around it: the virtual call, the thread's state looked up, the state's per-run fields written through
    /// <see cref="CompiledProgram"/>'s run method. The block lives in this frame for all the runs; the JIT polls for a
    /// collection after each call of the code, as after every call without the transition.
    /// </remarks>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override ulong ExecuteBriefRepeatedly(RunStack stack, int count, CancellationToken stop)
    {
        RunState* state = stack.State;
        var regions = Environment.GetPinnedRegions();
        bool budget = Uses(RunBlock.BudgetOffset);
        int dirty = DirtyStackBytes;
        Unsafe.SkipInit(out RunBlock block);
        ulong r0 = 0;
        for (int i = 0; i < count; i++)
        {
            StopIfRequested(stop);
            if (IsDisposed)
            {
                ThrowDisposed();
            }

            if (budget)
            {
                state->BudgetRemaining = RunBudget;
            }

            regions = CurrentRegions(state, regions);
            Fill(ref block, ref *state);
            r0 = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block);
            RunStack.Clear(stack.End, dirty);
            r0 = Finish(ref *state, ref block, r0);
        }

        GC.KeepAlive(regions);
        return r0;
    }
}
