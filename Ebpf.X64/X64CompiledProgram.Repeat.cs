using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>Repeated runs of a brief program (a kernel test run's <c>--repeat</c>): the run block stays in one frame.</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <inheritdoc />
    /// <remarks>
    /// Each run is <see cref="ExecuteBrief"/>'s: the disposed check, the code called without the GC transition on a
    /// block that holds what <see cref="Fill"/> writes, the stack bytes it could write cleared, and <see cref="Finish"/>.
    /// The block is filled once and lives in this frame for all the runs: of its fields, brief code (no helper call, no
    /// local call) writes only the saved stack pointer (before it reads it), the status on an error and the budget, so
    /// each run gets the status and the budget it starts with again (as <see cref="ExecuteCallbackLoop"/>'s calls do),
    /// and the whole block again when the environment's region table changed. What the loop saves is the run path
    /// around the code: the virtual call, the thread's state looked up, the run state's and the block's per-run fields
    /// written. The JIT polls for a collection after each call of the code, as after every call without the transition.
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
        Fill(ref block, ref *state);
        ulong r0 = 0;
        for (int i = 0; i < count; i++)
        {
            StopIfRequested(stop);
            if (IsDisposed)
            {
                ThrowDisposed();
            }

            var now = CurrentRegions(state, regions);
            if (!ReferenceEquals(now, regions))
            {
                regions = now;
                Fill(ref block, ref *state);
            }

            block.Status = (int)RunStatus.Completed;
            if (budget)
            {
                block.Budget = StartBudget;
            }

            r0 = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block);
            RunStack.Clear(stack.End, dirty);
            r0 = Finish(ref *state, ref block, r0);
        }

        GC.KeepAlive(regions);
        return r0;
    }
}
