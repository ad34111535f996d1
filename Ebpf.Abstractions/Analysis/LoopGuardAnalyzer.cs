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
                    Transfer(program.Decoded[pc], pc, state, addresses);
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
