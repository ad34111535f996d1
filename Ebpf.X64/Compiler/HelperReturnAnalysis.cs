using Ebpf.Isa;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Decides whether a program's helper calls may leave the machine code and return to the managed run method, which
/// calls the helper and re-enters the code after the call (see <see cref="X64CompiledProgram"/>). That lets the code
/// run without the transition to preemptive GC mode, like brief code, and a helper call costs a return and a
/// re-entry instead of a reverse P/Invoke. It is allowed when the machine code between two returns to the host is
/// short: the program has one function (no local calls, no callbacks: its only native frame is the entry's), at most
/// <see cref="X64CompiledProgram.MaxBriefSlots"/> slots, at least one helper call, and every loop passes a helper
/// call (the control-flow graph without the helper calls' out-edges is acyclic), so the code never runs longer than
/// one pass over the program without returning to the host.
/// </summary>
internal static class HelperReturnAnalysis
{
    /// <summary>True when the helper calls of <paramref name="program"/> may return to the host (see the class).</summary>
    public static bool Applies(EbpfProgram program)
    {
        // One function only: local calls and callbacks (bpf_loop's, entered from a helper) have native frames of their own.
        if (program.Length > X64CompiledProgram.MaxBriefSlots || program.Functions.Length != 1)
        {
            return false;
        }

        var code = program.Decoded;
        bool calls = false;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            switch (code[pc].Operation)
            {
                case Operation.CallLocal:
                    return false;
                case Operation.CallHelper or Operation.CallX:
                    calls = true;
                    break;
            }
        }

        return calls && !HasCycleWithoutHelperCall(program);
    }

    /// <summary>
    /// Depth-first search over all slots (each unvisited one a root, so code after a helper call is searched too),
    /// where a helper call has no successors (the host is reached there): true when a back edge (a cycle) remains.
    /// </summary>
    private static bool HasCycleWithoutHelperCall(EbpfProgram program)
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
                int successor = Successor(code[pc], pc, next);
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

    /// <summary>The <paramref name="index"/>-th successor of the instruction at <paramref name="pc"/>, or -1 when it has no more.</summary>
    private static int Successor(DecodedInstruction insn, int pc, int index)
    {
        switch (insn.Operation)
        {
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
