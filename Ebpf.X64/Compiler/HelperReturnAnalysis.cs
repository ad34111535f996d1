using Ebpf.Execution;
using Ebpf.Isa;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Decides whether a program's helper calls may leave the machine code and return to the managed run method, which
/// calls the helper and re-enters the code after the call (see <see cref="X64CompiledProgram"/>). That lets the code
/// run without the transition to preemptive GC mode, like brief code, and a helper call costs a return and a
/// re-entry instead of a reverse P/Invoke. It is allowed when the machine code between two returns to the host is
/// short, so that a garbage collection never waits long for the thread: the program has no callbacks, at most <see cref="BriefCode.MaxSlots"/> slots
/// and a helper call or, compiled without memory checks, a loop (a program with a loop and no helper call only yields:
/// so short loops, e.g. a string compare that ends after a few bytes, run without the GC transition too, which costs
/// more than their loop). A loop that calls no helper (a cycle of the control-flow graph without the helper
/// calls' out-edges) makes the code count its backward jumps and return to the host without a call (a yield) every
/// <see cref="HelperReturnPlan.YieldInterval"/> of them. A helper call the compiler makes inline (an array lookup) does
/// not return to the host, so it does not count as a call on a loop.
/// <para>A program with local calls (and a helper call, and no callbacks, and no call of its entry function) qualifies
/// too: the code leaves for the host with the native frames of its local calls live, copied to the run's frame save
/// area and back (see X64Compiler.EmitLeaveForHost), and it counts its local calls as it counts backward jumps, yielding
/// every <see cref="HelperReturnPlan.CallInterval"/> of them, so that a tree of calls cannot run long between two
/// returns either; a loop through a local call is then no loop without a call.</para>
/// </summary>
internal static class HelperReturnAnalysis
{
    /// <summary>
    /// The most slots the code runs between two yields: 32,768, about ten microseconds (between two backward jumps the
    /// code only moves forward, so it passes each slot at most once).
    /// </summary>
    internal const int MaxStretch = 8 * BriefCode.MaxSlots;

    /// <summary>True when the helper calls of <paramref name="program"/> may return to the host (see the class).</summary>
    public static bool Applies(EbpfProgram program) => Plan(program) is not null;

    /// <summary>How the helper calls of <paramref name="program"/> return to the host, or null when they may not (see the
    /// class). <paramref name="loopsWithoutCalls"/>: whether a program with loops and no helper call qualifies (the
    /// engine asks for it with memory checks on and off: checked code is fused like unchecked code and its guarded copies
    /// keep their speed across yields, so its loops are the unchecked loops' instructions; the analysis' tests turn it off).
    /// <paramref name="inline"/>: true for the helper calls (by pc) that the code makes inline, without leaving.
    /// <paramref name="maxCallDepth"/>: the run's most frames (<see cref="ExecutionOptions.MaxCallDepth"/>), which bounds
    /// what a program with local calls runs between two counted events.</summary>
    public static HelperReturnPlan? Plan(EbpfProgram program, bool loopsWithoutCalls = true, Func<int, bool>? inline = null, int maxCallDepth = 8)
    {
        // Callbacks (bpf_loop's, entered from a helper) run on a block and native frames of their own.
        if (program.Length > BriefCode.MaxSlots || program.HasCallbacks)
        {
            return null;
        }

        var code = program.Decoded;
        bool calls = false;
        bool localCalls = false;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            switch (code[pc].Operation)
            {
                case Operation.CallLocal when code[pc].Target == 0:
                    // The entry function called again: its exit would end the run from a nested frame.
                    return null;
                case Operation.CallLocal:
                    localCalls = true;
                    break;
                case Operation.CallHelper or Operation.CallX:
                    calls = true;
                    break;
            }
        }

        // Local calls without a helper call gain nothing from returning to the host: they keep the native calls' path.
        if ((program.Functions.Length != 1 && !localCalls) || (localCalls && !calls))
        {
            return null;
        }

        // A program without helper calls qualifies when it loops (straight-line code is brief already): it yields only.
        bool loops = HasCycleWithoutHelperCall(program, inline ?? (_ => false), localCalls);
        if (!calls && (!loops || !loopsWithoutCalls))
        {
            return null;
        }

        if (!localCalls)
        {
            return new HelperReturnPlan(loops ? Math.Max(1, MaxStretch / program.Length) : 0);
        }

        // With local calls the code leaves for the host with local-call frames live (X64Compiler.EmitLeaveForHost). Between
        // two counted events (a helper call, a counted backward jump, a counted local call) it runs forward in each frame
        // it passes (a cycle without a helper call passes a counted jump or local call), in at most maxCallDepth frames.
        long interval = Math.Max(1, MaxStretch / ((long)program.Length * Math.Max(1, maxCallDepth)));
        return new HelperReturnPlan(loops ? interval : 0, interval);
    }

    /// <summary>
    /// Depth-first search over all slots (each unvisited one a root, so code after a helper call is searched too),
    /// where a helper call that leaves for the host has no successors (the host is reached there; one made
    /// <paramref name="inline"/> goes on to the next slot): true when a back edge (a cycle) remains.
    /// </summary>
    private static bool HasCycleWithoutHelperCall(EbpfProgram program, Func<int, bool> inline, bool localCallsCounted)
    {
        var code = program.Decoded;
        var state = new byte[code.Length]; // 0 unvisited, 1 on the path, 2 done
        var stack = new Stack<(int Pc, int Next)>();
        for (int root = 0; root < code.Length; root++)
        {
            if (state[root] != 0 || code[root].Operation == Operation.None)
            {
                continue;
            }

            state[root] = 1;
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (pc, next) = stack.Pop();
                int successor = Successor(code[pc], pc, next, code[pc].Operation == Operation.CallHelper && inline(pc), localCallsCounted);
                if (successor < 0)
                {
                    state[pc] = 2;
                    continue;
                }

                stack.Push((pc, next + 1));
                if (successor >= code.Length || state[successor] == 2)
                {
                    continue;
                }

                if (state[successor] == 1)
                {
                    return true;
                }

                state[successor] = 1;
                stack.Push((successor, 0));
            }
        }

        return false;
    }

    /// <summary>The <paramref name="index"/>-th successor of the instruction at <paramref name="pc"/>, or -1 when it has
    /// no more (a helper call has none unless it is made <paramref name="inline"/>; nor has a local call that is
    /// <paramref name="localCallCounted"/>, since the code yields on those).</summary>
    private static int Successor(DecodedInstruction insn, int pc, int index, bool inline, bool localCallCounted)
    {
        switch (insn.Operation)
        {
            case Operation.CallLocal when localCallCounted:
                return -1;
            case Operation.CallHelper when inline:
                return index == 0 ? pc + insn.Length : -1;
            case Operation.Exit or Operation.CallHelper or Operation.CallX:
                return -1;
            case Operation.Ja or Operation.Ja32:
                return index == 0 ? insn.Target : -1;
            default:
                if (insn.IsConditionalJump)
                {
                    return index switch { 0 => pc + 1, 1 => insn.Target, _ => -1 };
                }

                return index == 0 ? pc + insn.Length : -1;
        }
    }
}
