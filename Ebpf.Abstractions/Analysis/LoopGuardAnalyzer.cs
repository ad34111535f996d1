using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// Finds the loops a <see cref="LoopGuardPlan"/> can guard. A loop qualifies when:
/// <list type="bullet">
/// <item>it is a natural loop of the control-flow graph holding no other cycle (<see cref="FunctionGraph.InnermostLoops"/>:
/// inner loops are guarded on their own, the outer one is not);</item>
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
        var graph = new FunctionGraph(program, function);
        var taken = new bool[graph.Count];
        foreach (var loop in graph.InnermostLoops())
        {
            if (loop.Body.Any(b => taken[b]) || Describe(program, graph, loop, needsCheck, regionOf) is not { } guard)
            {
                continue;
            }

            foreach (int b in loop.Body)
            {
                taken[b] = true;
            }

            found.Add(guard);
        }
    }

    /// <summary>Follows the loop's registers as linear forms and describes its guard, or returns null when nothing can be guarded.</summary>
    private static LoopGuard? Describe(EbpfProgram program, FunctionGraph graph, NaturalLoop loop, Func<int, bool> needsCheck, Func<int, AccessRegion> regionOf)
    {
        var analysis = program.Analysis;
        int first = graph.First;
        int head = loop.Head;
        var body = loop.Body;
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
        var operands = new Dictionary<int, (LinearForm? Left, LinearForm? Right)>();
        foreach (int b in loop.Order)
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
                state = Join(graph.Predecessors[b].Where(body.Contains).Select(p => outStates[p]));
            }

            var block = analysis.Blocks[first + b];
            for (int pc = block.Start; pc < block.End; pc++)
            {
                if (!program.IsSecondSlot(pc))
                {
                    Transfer(program.Decoded[pc], pc, state, addresses, operands);
                }
            }

            outStates[b] = state;
        }

        var back = Join(loop.Latches.Select(u => outStates[u]));
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
            if (Movement(address, step, back, used) is not { } total || total == long.MinValue)
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

        var trip = FindTrip(program, graph, loop, operands, step, back, conditions);
        var starts = body.Select(b => analysis.Blocks[first + b].Start).Order().ToImmutableArray();
        return new LoopGuard(
            analysis.Blocks[first + head].Start,
            [.. instructions.Order()],
            starts,
            [.. conditions.Values.OrderBy(c => c.Register)],
            accesses.ToImmutable(),
            trip);
    }

    /// <summary>
    /// How much <paramref name="form"/> moves per iteration, or null when it does not move by a constant: each register
    /// in it must be an induction register or a copy of one (whose entry condition goes to <paramref name="used"/>).
    /// </summary>
    private static long? Movement(LinearForm form, long?[] step, LinearForm?[] back, Dictionary<int, LoopEntryEquality> used)
    {
        long total = 0;
        for (int r = 0; r < RegisterCount; r++)
        {
            long coefficient = form.Coefficient(r);
            if (coefficient == 0)
            {
                continue;
            }

            if (step[r] is { } own)
            {
                total = unchecked(total + (coefficient * own));
            }
            else if (back[r] is { } moved && moved.IsRegisterPlus(out int source, out long constant) && step[source] is { } sourceStep)
            {
                // r is set to source + constant on every path: from the second iteration on it moves with source; from the
                // first too when it already equals source + constant - step on entry (tested by the guard).
                used[r] = new LoopEntryEquality(r, source, unchecked(constant - sourceStep));
                total = unchecked(total + (coefficient * sourceStep));
            }
            else
            {
                return null;
            }
        }

        return total;
    }

    /// <summary>
    /// The first conditional jump (by pc) that bounds the loop (see <see cref="TripBound"/>): a 64-bit comparison on
    /// every path from the head back to it, with one successor in the loop and one outside, between an operand that
    /// moves by a constant and one that does not, in the direction that ends the loop; its entry conditions join
    /// <paramref name="conditions"/>. Null when there is none.
    /// </summary>
    private static TripBound? FindTrip(
        EbpfProgram program, FunctionGraph graph, NaturalLoop loop, Dictionary<int, (LinearForm? Left, LinearForm? Right)> operands,
        long?[] step, LinearForm?[] back, Dictionary<int, LoopEntryEquality> conditions)
    {
        var analysis = program.Analysis;
        foreach (int b in loop.Order.OrderBy(b => analysis.Blocks[graph.First + b].Start))
        {
            int pc = analysis.Blocks[graph.First + b].End - 1;
            var insn = program.Decoded[pc];
            if (!insn.IsConditionalJump || !insn.Is64 || !operands.TryGetValue(pc, out var pair)
                || pair.Left is not { } left || pair.Right is not { } right)
            {
                continue;
            }

            bool takenStays = loop.Body.Contains(analysis.BlockIndexOf(insn.Target) - graph.First);
            bool fallStays = pc + 1 < program.Length && loop.Body.Contains(analysis.BlockIndexOf(pc + 1) - graph.First);
            if (takenStays == fallStays || !OnEveryIteration(graph, loop, b))
            {
                continue;
            }

            var used = new Dictionary<int, LoopEntryEquality>();
            if (Movement(left, step, back, used) is not { } leftStep || Movement(right, step, back, used) is not { } rightStep)
            {
                continue;
            }

            // The comparison under which the loop stays, with the moving operand on the left.
            var stay = takenStays ? insn.Operation : SafetyAnalyzer.Negate(insn.Operation);
            if (leftStep == 0)
            {
                (left, right, leftStep, rightStep, stay) = (right, left, rightStep, leftStep, Mirrored(stay));
            }

            if (rightStep != 0 || Normalize(pc, left, right, leftStep, stay) is not { } trip)
            {
                continue;
            }

            foreach (var (r, condition) in used)
            {
                conditions[r] = condition;
            }

            return trip;
        }

        return null;
    }

    /// <summary>The bound for "stay while <paramref name="moving"/> <paramref name="stay"/> <paramref name="limit"/>", or null when that does not end the loop.</summary>
    private static TripBound? Normalize(int pc, LinearForm moving, LinearForm limit, long step, Operation stay)
    {
        const ulong sign = 1UL << 63;
        if (step == 0 || step == long.MinValue || Math.Abs(step) > TripBound.MaxStep)
        {
            return null;
        }

        bool up = step > 0;
        long magnitude = Math.Abs(step);
        return stay switch
        {
            Operation.Jne when magnitude == 1 => new TripBound(pc, moving, limit, 1, up ? 0 : ~0UL, Inclusive: false, NotEqual: true),
            Operation.Jlt or Operation.Jle when up => new TripBound(pc, moving, limit, magnitude, 0, stay == Operation.Jle, NotEqual: false),
            Operation.Jslt or Operation.Jsle when up => new TripBound(pc, moving, limit, magnitude, sign, stay == Operation.Jsle, NotEqual: false),
            Operation.Jgt or Operation.Jge when !up => new TripBound(pc, moving, limit, magnitude, ~0UL, stay == Operation.Jge, NotEqual: false),
            Operation.Jsgt or Operation.Jsge when !up => new TripBound(pc, moving, limit, magnitude, ~sign, stay == Operation.Jsge, NotEqual: false),
            _ => null,
        };
    }

    /// <summary>The jump with the operands swapped (<c>a &lt; b</c> is <c>b &gt; a</c>).</summary>
    private static Operation Mirrored(Operation operation) => operation switch
    {
        Operation.Jgt => Operation.Jlt,
        Operation.Jlt => Operation.Jgt,
        Operation.Jge => Operation.Jle,
        Operation.Jle => Operation.Jge,
        Operation.Jsgt => Operation.Jslt,
        Operation.Jslt => Operation.Jsgt,
        Operation.Jsge => Operation.Jsle,
        Operation.Jsle => Operation.Jsge,
        _ => operation,
    };

    /// <summary>True when every path from the head to a latch passes block <paramref name="block"/> (the loop's body holds no other cycle).</summary>
    private static bool OnEveryIteration(FunctionGraph graph, NaturalLoop loop, int block)
    {
        if (block == loop.Head)
        {
            return true;
        }

        // Without block, no latch may be reachable from the head inside the body.
        var seen = new HashSet<int> { loop.Head };
        var work = new Stack<int>();
        work.Push(loop.Head);
        while (work.Count > 0)
        {
            int x = work.Pop();
            if (loop.Latches.Contains(x))
            {
                return false;
            }

            foreach (int s in graph.Successors[x])
            {
                if (s != block && s != loop.Head && loop.Body.Contains(s) && seen.Add(s))
                {
                    work.Push(s);
                }
            }
        }

        return true;
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
    private static void Transfer(
        DecodedInstruction insn, int pc, LinearForm?[] state, Dictionary<int, LinearForm?> addresses, Dictionary<int, (LinearForm? Left, LinearForm? Right)> operands)
    {
        switch (insn.Operation)
        {
            case >= Operation.Jeq and <= Operation.Jsle:
                operands[pc] = (state[insn.Dst], insn.HasRegisterSource ? state[insn.Src] : LinearForm.Of(insn.Imm));
                break;
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
