using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// Repeated runs of a brief program, or of one whose code never leaves for the host (a kernel test run's
/// <c>--repeat</c>): the run block stays in one frame.
/// </summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <inheritdoc />
    /// <remarks>
    /// True for code whose helper calls return to the host (<see cref="helpersReturn"/>) and whose every helper call site
    /// leaves the run block as it found it but for the status, the budget (which <see cref="Rearm"/> writes again) and
    /// the program it names: no <c>callx</c> (whose helper is known only at run time). The code leaves only at its end,
    /// in a loop for a yield, or for a helper call, all of which <see cref="RunWithHelperReturns"/> handles with this run
    /// block. A tail call through a known array (<see cref="Helper.TailCallTargets"/>) either jumps to its target in the
    /// code, which names the target in the block (<see cref="RunBlock.Program"/>, which <see cref="RepeatLeased"/> names
    /// this program in again before each run) and fills from the run state the block words the target reads, or leaves
    /// for the host, whose helper loop runs the target on a block of its own and hands back the budget; either raises the
    /// run state's tail-call count and stack footprint, which the end of each run puts back
    /// (<see cref="CompiledProgram.EndFast"/>). A tail call that another helper requests through its context is carried
    /// out after the run, as the common run does. Not code that saves local-call frames (<see cref="savesFrames"/>): its
    /// frame save area is <see cref="RunWithSavedFrames"/>'s.
    /// </remarks>
    private protected override bool RepeatsInOwnCode => helpersReturn && !savesFrames && Array.TrueForAll(sites, static site => site.Helper is not null);

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
    /// <para>Code that is not brief (<see cref="RepeatsInOwnCode"/>) runs in <see cref="RepeatLeased"/>.</para>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override ulong ExecuteInCodeRepeatedly(RunStack stack, int count, CancellationToken stop)
    {
        if (!Brief)
        {
            return RepeatLeased(stack, count, stop);
        }

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

            regions = Rearm(ref block, state, regions, budget);
            r0 = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block);
            RunStack.Clear(stack.End, dirty);
            r0 = Finish(ref *state, ref block, r0);
        }

        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// The repeated runs of code that is not brief but returns to the host for its helper calls (<see cref="RepeatsInOwnCode"/>): as
    /// <see cref="ExecuteInCodeRepeatedly"/>'s runs of brief code, with the block filled once and only the status and
    /// the budget written again per run (and the whole block when the region table changed; the code writes the other
    /// fields it reads, the yield's held r0, the helper arguments and the loop guards' limit among them, before it reads
    /// them, and the helper loop writes only the status and, around a helper that calls back, the budget), but each run
    /// holds its own lease, the watch word of the common run (<see cref="CompiledProgram.EnterOnThread"/>, which throws
    /// when the program was disposed), and ends as the common run ends (<see cref="CompiledProgram.EndFast"/>: the stack
    /// bytes the run could write cleared, the stop request, tail-call count and helper pc a helper left put back, the
    /// lease ended, releasing the code when it was disposed meanwhile): the mapping of such code is unmapped when the
    /// last lease ends, not left to the collector as brief code's, and the watchdog sees each run as a run of its own.
    /// The code is called here, without the GC transition as <see cref="Execute"/> calls it; only a run that did not
    /// simply end (it left for a helper or a yield, failed, stopped, keeps a budget or requested a tail call through a
    /// helper) goes on in <see cref="FinishRepeated"/>, so that the loop holds no exception handler and keeps little
    /// across the call: this loop took about 10% off a kernel test run of a tail-call chain (xdp_tail) against one that
    /// called <see cref="RunWithHelperReturns"/> inside a try block. Each run ends with
    /// <see cref="CompiledProgram.EndRepeated"/>, which puts back a tail-call chain's count and footprint in line.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong RepeatLeased(RunStack stack, int count, CancellationToken stop)
    {
        RunState* state = stack.State;
        var regions = Environment.GetPinnedRegions();
        bool budget = Uses(RunBlock.BudgetOffset);
        Unsafe.SkipInit(out RunBlock block);
        Fill(ref block, ref *state);
        ulong r0 = 0;
        for (int i = 0; i < count; i++)
        {
            StopIfRequested(stop);
            long watch = EnterOnThread(stack);
            regions = Rearm(ref block, state, regions, budget);
            block.Program = selfHandle;
            var exit = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, CodeExit>)entry)(&block);
            if ((exit.Resume | (nint)block.Status | (nint)state->TailCallTarget) != 0 || budget)
            {
                r0 = FinishRepeated(stack, watch, &block, exit);
            }
            else
            {
                r0 = exit.Value;
            }

            EndRepeated(stack, watch);
        }

        GC.KeepAlive(this);
        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// The rest of a repeated run whose code did not simply end (see <see cref="RepeatLeased"/>): it left for the host at
    /// <paramref name="exit"/> (a helper call or a yield: the helper loop goes on from there as
    /// <see cref="RunWithHelperReturns"/>'s does), the block reports an error or a stop, the code keeps a budget (handed
    /// back to the run state), or a helper requested a tail call through its context (carried out here, as in the common
    /// run). An exception ends the run as the common run's failure does (<see cref="CompiledProgram.EndFast"/>) and passes
    /// on; the run that returns is ended by the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong FinishRepeated(RunStack stack, long watch, RunBlock* block, CodeExit exit)
    {
        RunState* state = stack.State;
        try
        {
            ulong r0 = Finish(ref *state, ref *block, exit.Resume == 0 ? exit.Value : ContinueRun(block, exit));
            return state->TailCallTarget != 0 ? ContinueTailCalls(ref *state, r0) : r0;
        }
        catch
        {
            EndFast(stack, watch);
            throw;
        }
    }

    /// <summary>
    /// Readies a run block kept from the run before for the next of repeated runs: the whole block again when the
    /// environment's region table is no longer <paramref name="regions"/>, then the status and (when the code keeps one,
    /// <paramref name="budget"/>) the budget the run starts with. Returns the table the run uses.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private MemoryRegion[] Rearm(ref RunBlock block, RunState* state, MemoryRegion[] regions, bool budget)
    {
        var now = CurrentRegions(state, regions);
        if (!ReferenceEquals(now, regions))
        {
            Fill(ref block, ref *state);
        }

        block.Status = (int)RunStatus.Completed;
        if (budget)
        {
            block.Budget = StartBudget;
        }

        return now;
    }
}
