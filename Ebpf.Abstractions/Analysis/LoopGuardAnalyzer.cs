using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// Finds the loops a <see cref="LoopGuardPlan"/> can guard. A loop qualifies when:
/// <list type="bullet">
/// <item>it is a natural loop of the control-flow graph (<see cref="AnalysisResults.Blocks"/>: a head that dominates
/// every block with an edge back to it) and holds no other cycle (inner loops are guarded on their own; the outer one
/// is not);</item>
/// <item>it makes no call (helper, local, <c>callx</c>: a helper may change memory, lengths or regions), no atomic
/// operation and no legacy packet load;</item>
/// <item>along every path from the head back to it, each register the guarded addresses use is either the same
/// register plus a constant step (an induction register; step 0: invariant), or another induction register plus a
/// constant (a copy, see <see cref="LoopEntryEquality"/>); the registers are followed as exact linear forms of their
/// values at the head (<see cref="LinearForm"/>: moves, 64-bit additions and subtractions, multiplications and left
/// shifts by constants; anything else, loads and 32-bit operations included, gives an unknown value);</item>
/// <item>at least one of its accesses needs a check and has an address the forms describe on every path to it.</item>
/// </list>
/// Loads and stores whose address is not such a form keep their checks in the copy too.
/// </summary>
internal static class LoopGuardAnalyzer
{
    private const int RegisterCount = 11;

    /// <summary>The guardable loops of every function of <paramref name="program"/>, by head pc ascending.</summary>
    public static List<LoopGuard> Find(EbpfProgram program, Func<int, bool> needsCheck, Func<int, AccessRegion> regionOf)
    {
        var found = new List<LoopGuard>();
        foreach (var function in program.Functions)
        {
            FindInFunction(program, function, needsCheck, regionOf, found);
        }

        found.Sort((a, b) => a.Head.CompareTo(b.Head));
        return found;
    }

    private static void FindInFunction(EbpfProgram program, FunctionInfo function, Func<int, bool> needsCheck, Func<int, AccessRegion> regionOf, List<LoopGuard> found)
    {
        var analysis = program.Analysis;
        int first = analysis.BlockIndexOf(function.Start);
        int last = analysis.BlockIndexOf(function.End - 1);
        int count = last - first + 1;
        var successors = new List<int>[count];
        var predecessors = new List<int>[count];
        for (int b = 0; b < count; b++)
        {
            successors[b] = [];
            predecessors[b] = [];
        }

        for (int b = 0; b < count; b++)
        {
            foreach (int pc in analysis.Blocks[first + b].Successors)
            {
                int s = analysis.BlockIndexOf(pc) - first;
                successors[b].Add(s);
                predecessors[s].Add(b);
            }
        }

        var order = ReversePostorder(successors);
        if (order.Count == 0)
        {
            return;
        }

        var dominator = Dominators(order, predecessors, count);
        var taken = new bool[count];
        var latches = new SortedDictionary<int, List<int>>();
        foreach (int u in order)
        {
            foreach (int h in successors[u])
            {
                if (Dominates(dominator, h, u))
                {
                    if (!latches.TryGetValue(h, out var list))
                    {
                        latches[h] = list = [];
                    }

                    list.Add(u);
                }
            }
        }

        foreach (var (head, latchList) in latches)
        {
            var body = LoopBody(head, latchList, predecessors, dominator);
            if (body.Any(b => taken[b]))
            {
                continue;
            }

            var topological = Topological(head, body, successors);
            if (topological is null)
            {
                continue;
            }

            var guard = Describe(program, first, head, latchList, body, topological, predecessors, needsCheck, regionOf);
            if (guard is null)
            {
                continue;
            }

            foreach (int b in body)
            {
                taken[b] = true;
            }

            found.Add(guard);
        }
    }

    /// <summary>The blocks reachable from the function's entry (block 0), in reverse postorder.</summary>
    private static List<int> ReversePostorder(List<int>[] successors)
    {
        var visited = new bool[successors.Length];
        var post = new List<int>();
        var stack = new Stack<(int Block, int Next)>();
        visited[0] = true;
        stack.Push((0, 0));
        while (stack.Count > 0)
        {
            var (block, next) = stack.Pop();
            if (next < successors[block].Count)
            {
                stack.Push((block, next + 1));
                int s = successors[block][next];
                if (!visited[s])
                {
                    visited[s] = true;
                    stack.Push((s, 0));
                }
            }
            else
            {
                post.Add(block);
            }
        }

        post.Reverse();
        return post;
    }

    /// <summary>Immediate dominators (Cooper, Harvey and Kennedy's iteration); -1 for blocks not reachable.</summary>
    private static int[] Dominators(List<int> order, List<int>[] predecessors, int count)
    {
        var index = new int[count];
        Array.Fill(index, -1);
        for (int i = 0; i < order.Count; i++)
        {
            index[order[i]] = i;
        }

        var dominator = new int[count];
        Array.Fill(dominator, -1);
        dominator[order[0]] = order[0];
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 1; i < order.Count; i++)
            {
                int b = order[i];
                int candidate = -1;
                foreach (int p in predecessors[b])
                {
                    if (dominator[p] < 0)
                    {
                        continue;
                    }

                    candidate = candidate < 0 ? p : Intersect(dominator, index, p, candidate);
                }

                if (candidate >= 0 && dominator[b] != candidate)
                {
                    dominator[b] = candidate;
                    changed = true;
                }
            }
        }

        return dominator;
    }

    private static int Intersect(int[] dominator, int[] index, int a, int b)
    {
        while (a != b)
        {
            while (index[a] > index[b])
            {
                a = dominator[a];
            }

            while (index[b] > index[a])
            {
                b = dominator[b];
            }
        }

        return a;
    }

    /// <summary>True when <paramref name="h"/> dominates the reachable block <paramref name="u"/>.</summary>
    private static bool Dominates(int[] dominator, int h, int u)
    {
        while (true)
        {
            if (u == h)
            {
                return true;
            }

            int up = dominator[u];
            if (up == u || up < 0)
            {
                return false;
            }

            u = up;
        }
    }

    /// <summary>The natural loop of <paramref name="head"/>: the head and every reachable block that reaches a latch without passing the head.</summary>
    private static HashSet<int> LoopBody(int head, List<int> latches, List<int>[] predecessors, int[] dominator)
    {
        var body = new HashSet<int> { head };
        var work = new Stack<int>();
        foreach (int u in latches)
        {
            if (body.Add(u))
            {
                work.Push(u);
            }
        }

        while (work.Count > 0)
        {
            int x = work.Pop();
            foreach (int p in predecessors[x])
            {
                if (dominator[p] >= 0 && body.Add(p))
                {
                    work.Push(p);
                }
            }
        }

        return body;
    }

    /// <summary>The body in an order where every block comes after its predecessors in the body (edges into the head left out); null when the body holds another cycle.</summary>
    private static List<int>? Topological(int head, HashSet<int> body, List<int>[] successors)
    {
        var incoming = new Dictionary<int, int>();
        foreach (int b in body)
        {
            incoming.TryAdd(b, 0);
            foreach (int s in successors[b])
            {
                if (s != head && body.Contains(s))
                {
                    incoming[s] = incoming.GetValueOrDefault(s) + 1;
                }
            }
        }

        var order = new List<int>();
        var ready = new Stack<int>();
        ready.Push(head);
        while (ready.Count > 0)
        {
            int b = ready.Pop();
            order.Add(b);
            foreach (int s in successors[b])
            {
                if (s != head && body.Contains(s) && --incoming[s] == 0)
                {
                    ready.Push(s);
                }
            }
        }

        return order.Count == body.Count ? order : null;
    }

    /// <summary>Follows the loop's registers as linear forms and describes its guard, or returns null when nothing can be guarded.</summary>
    private static LoopGuard? Describe(
        EbpfProgram program, int first, int head, List<int> latches, HashSet<int> body, List<int> topological, List<int>[] predecessors,
        Func<int, bool> needsCheck, Func<int, AccessRegion> regionOf)
    {
        var analysis = program.Analysis;
        var instructions = new List<int>();
        foreach (int b in body)
        {
            var block = analysis.Blocks[first + b];
            for (int pc = block.Start; pc < block.End; pc++)
            {
                if (program.IsSecondSlot(pc))
                {
                    continue;
                }

                var op = program.Decoded[pc].Operation;
                if (op is Operation.CallHelper or Operation.CallLocal or Operation.CallX or Operation.LoadAbsolute or Operation.LoadIndirect
                    || program.Decoded[pc].IsAtomic)
                {
                    return null;
                }

                instructions.Add(pc);
            }
        }

        var outStates = new Dictionary<int, LinearForm?[]>();
        var addresses = new Dictionary<int, LinearForm?>();
        foreach (int b in topological)
        {
            LinearForm?[] state;
            if (b == head)
            {
                state = new LinearForm?[RegisterCount];
                for (int r = 0; r < RegisterCount; r++)
                {
                    state[r] = LinearForm.Register(r);
                }
            }
            else
            {
                state = Join(predecessors[b].Where(body.Contains).Select(p => outStates[p]));
            }

            var block = analysis.Blocks[first + b];
            for (int pc = block.Start; pc < block.End; pc++)
            {
                if (!program.IsSecondSlot(pc))
                {
                    Transfer(program.Decoded[pc], pc, state, addresses);
                }
            }

            outStates[b] = state;
        }

        var back = Join(latches.Select(u => outStates[u]));
        var step = new long?[RegisterCount];
        for (int r = 0; r < RegisterCount; r++)
        {
            if (back[r] is { } form && form.IsRegisterPlus(out int source, out long constant) && source == r)
            {
                step[r] = constant;
            }
        }

        var accesses = ImmutableArray.CreateBuilder<GuardedAccess>();
        var conditions = new Dictionary<int, LoopEntryEquality>();
        foreach (int pc in instructions)
        {
            var insn = program.Decoded[pc];
            if (!insn.IsMemoryAccess || !needsCheck(pc) || addresses.GetValueOrDefault(pc) is not { } address)
            {
                continue;
            }

            var used = new Dictionary<int, LoopEntryEquality>();
            long total = 0;
            bool exact = true;
            for (int r = 0; r < RegisterCount && exact; r++)
            {
                long coefficient = address.Coefficient(r);
                if (coefficient == 0)
                {
                    continue;
                }

                if (step[r] is { } own)
                {
                    total = unchecked(total + (coefficient * own));
                }
                else if (back[r] is { } form && form.IsRegisterPlus(out int source, out long constant) && step[source] is { } sourceStep)
                {
                    // r is set to source + constant on every path: from the second iteration on it moves with source; from the
                    // first too when it already equals source + constant - step on entry (tested by the guard).
                    used[r] = new LoopEntryEquality(r, source, unchecked(constant - sourceStep));
                    total = unchecked(total + (coefficient * sourceStep));
                }
                else
                {
                    exact = false;
                }
            }

            if (!exact || total == long.MinValue)
            {
                continue;
            }

            foreach (var (r, condition) in used)
            {
                conditions[r] = condition;
            }

            accesses.Add(new GuardedAccess(pc, regionOf(pc), insn.AccessSize, address, total));
        }

        if (accesses.Count == 0)
        {
            return null;
        }

        var starts = body.Select(b => analysis.Blocks[first + b].Start).Order().ToImmutableArray();
        return new LoopGuard(
            analysis.Blocks[first + head].Start,
            [.. instructions.Order()],
            starts,
            [.. conditions.Values.OrderBy(c => c.Register)],
            accesses.ToImmutable());
    }

    /// <summary>Register by register: the form all states agree on, else unknown.</summary>
    private static LinearForm?[] Join(IEnumerable<LinearForm?[]> states)
    {
        LinearForm?[]? joined = null;
        foreach (var state in states)
        {
            if (joined is null)
            {
                joined = (LinearForm?[])state.Clone();
                continue;
            }

            for (int r = 0; r < RegisterCount; r++)
            {
                if (joined[r] is not { } form || !form.Equals(state[r]))
                {
                    joined[r] = null;
                }
            }
        }

        return joined ?? new LinearForm?[RegisterCount];
    }

    /// <summary>The effect of one instruction on the forms; records the address form of loads and stores.</summary>
    private static void Transfer(DecodedInstruction insn, int pc, LinearForm?[] state, Dictionary<int, LinearForm?> addresses)
    {
        switch (insn.Operation)
        {
            case >= Operation.Add and <= Operation.Bswap64:
                state[insn.Dst] = Alu(insn, state);
                break;
            case Operation.Load or Operation.LoadSignExtend:
                addresses[pc] = state[insn.Src]?.Plus(insn.Offset);
                state[insn.Dst] = null;
                break;
            case Operation.Store:
                addresses[pc] = state[insn.Dst]?.Plus(insn.Offset);
                break;
            case Operation.Lddw:
                state[insn.Dst] = null;
                break;
            default:
                // Jumps and exit change no register; calls, atomics and packet loads are not in guarded loops.
                break;
        }
    }

    private static LinearForm? Alu(DecodedInstruction insn, LinearForm?[] state)
    {
        var dst = state[insn.Dst];
        if (!insn.Is64)
        {
            // A 32-bit move of an immediate is the zero-extended constant; any other 32-bit result is not followed.
            return insn.Operation == Operation.Mov && !insn.HasRegisterSource ? LinearForm.Of((uint)insn.Imm) : null;
        }

        var operand = insn.HasRegisterSource ? state[insn.Src] : LinearForm.Of(insn.Imm);
        return insn.Operation switch
        {
            Operation.Mov => operand,
            Operation.Add => dst is not null && operand is not null ? dst.Add(operand) : null,
            Operation.Sub => dst is not null && operand is not null ? dst.Subtract(operand) : null,
            Operation.Mul when dst is not null && operand is { IsConstant: true } => dst.Times(operand.Constant),
            Operation.Mul when operand is not null && dst is { IsConstant: true } => operand.Times(dst.Constant),
            Operation.Lsh when dst is not null && operand is { IsConstant: true } => dst.Times(1L << (int)(operand.Constant & 63)),
            Operation.Neg => dst?.Times(-1),
            _ => null,
        };
    }
}
