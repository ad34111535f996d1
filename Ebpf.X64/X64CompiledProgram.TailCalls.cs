using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// <c>bpf_tail_call</c> entered by the host's helper loop itself (<see cref="RunWithHelperReturns"/>), for code whose
/// helper calls return to the host and a call site whose program array the compiler knows (an <c>lddw</c> of r2 right
/// before the call): no helper invocation, no <see cref="HelperContext"/>, no pending list and no return through the
/// run path; the target runs straight from here, nested in this program's run method.
/// </summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// At the tail-call site the code left at (r1-r5 in <paramref name="block"/>): when the slot at r3 holds an x64
    /// program the helper would enter (the checks of CompiledProgram.TryEnterTailCallTarget), runs it on the
    /// run's state with what is left of the budget and returns true with its r0 in <paramref name="r0"/> (the block
    /// completed, its budget the target's rest, so the run ends as the target's). Anything else (an empty or disposed
    /// slot, an index out of range, the limit of 33, an interpreter or IL target, a callback, another environment or
    /// context) returns false, having changed nothing the helper reads: the helper is called as before and decides.
    /// <para>
    /// Not inlined, and its locals not zeroed: inlined, the target's run (its 280-byte run block, written before it is
    /// read) became part of <see cref="RunWithHelperReturns"/>, whose prologue then zeroed that block on every return of
    /// the code for any helper call, and whose registers spilled around the tail-call path.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private bool TryTailCall(RunBlock* block, TailCallTargets targets, out ulong r0)
    {
        r0 = 0;
        RunState* state = block->State;
        if (targets.Find((uint)block->Arg3, state->TailCallCount) is not X64CompiledProgram target)
        {
            return false;
        }

        // The target counts on the state's budget: this code's rest goes there first, and the target's comes back, so
        // that Finish hands it on.
        bool budget = Uses(RunBlock.BudgetOffset);
        if (budget)
        {
            state->BudgetRemaining = block->Budget;
        }

        if (!TryEnterTailCallTarget(ref *state, target, out r0))
        {
            return false;
        }

        if (budget)
        {
            block->Budget = state->BudgetRemaining;
        }

        return true;
    }
}
