using Ebpf.Isa;

namespace Ebpf.Kernel;

/// <summary>
/// Whether every run of a program ends after a bounded number of instructions whatever its input: no loop in its
/// control-flow graph (backward jumps to shared code are fine; a cycle is not), no <c>callx</c>, no tail call, no
/// callback (a <c>lddw</c> of a code address: <c>bpf_loop</c> and the like), and
/// local calls whose worst case (each function's instructions once, plus its callees' worst cases) is at most
/// <see cref="MaxInstructions"/>. Such a run cannot hang, so a repeated test run may look at its cancellation token
/// between runs instead of registering it with every run.
/// </summary>
internal static class RunLength
{
    /// <summary>The most instructions a run counted as bounded may execute (about a millisecond interpreted).</summary>
    public const long MaxInstructions = 1_000_000;

    private const int TailCallHelper = 12;

    /// <summary>True when every run of <paramref name="program"/> executes at most <see cref="MaxInstructions"/> instructions.</summary>
    public static bool IsBounded(EbpfProgram program) => IsBounded(program, tailCalls: false);

    /// <summary>
    /// True when <paramref name="program"/> executes at most <see cref="MaxInstructions"/> instructions before it ends
    /// or, when <paramref name="tailCalls"/> allows them, makes a tail call (the caller then judges the targets: a run
    /// makes at most <see cref="Helpers.LinuxHelpers.MaxTailCalls"/> tail calls).
    /// </summary>
    public static bool IsBounded(EbpfProgram program, bool tailCalls)
    {
        ArgumentNullException.ThrowIfNull(program);
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.Operation == Operation.CallX
                || (!tailCalls && CallsTail(insn))
                || insn.PseudoSource == LddwSource.CodeAddress)
            {
                return false;
            }
        }

        if (HasCycle(program))
        {
            return false;
        }

        var worst = new long[program.Functions.Length];
        return WorstCase(program, 0, worst, new bool[worst.Length]) <= MaxInstructions;
    }

    /// <summary>True when <paramref name="program"/> calls <c>bpf_tail_call</c>.</summary>
    public static bool CallsTail(EbpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            if (CallsTail(code[pc]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool CallsTail(in DecodedInstruction insn) => insn.Operation == Operation.CallHelper && insn.Imm == TailCallHelper;

    /// <summary>True when the control-flow graph has a cycle (a depth-first search meets a block still on its path).</summary>
    private static bool HasCycle(EbpfProgram program)
    {
        var analysis = program.Analysis;
        var blocks = analysis.Blocks;
        var state = new byte[blocks.Length]; // 0 unseen, 1 on the path, 2 done
        var path = new Stack<(int Block, int Next)>();
        for (int root = 0; root < blocks.Length; root++)
        {
            if (state[root] != 0)
            {
                continue;
            }

            state[root] = 1;
            path.Push((root, 0));
            while (path.Count != 0)
            {
                var (block, next) = path.Pop();
                var successors = blocks[block].Successors;
                if (next == successors.Length)
                {
                    state[block] = 2;
                    continue;
                }

                path.Push((block, next + 1));
                int successor = analysis.BlockIndexOf(successors[next]);
                if (state[successor] == 1)
                {
                    return true;
                }

                if (state[successor] == 0)
                {
                    state[successor] = 1;
                    path.Push((successor, 0));
                }
            }
        }

        return false;
    }

    /// <summary>The most instructions one call of function <paramref name="function"/> executes (long.MaxValue for recursion or beyond the bound).</summary>
    private static long WorstCase(EbpfProgram program, int function, long[] worst, bool[] open)
    {
        if (worst[function] != 0)
        {
            return worst[function];
        }

        if (open[function])
        {
            return long.MaxValue;
        }

        open[function] = true;
        var range = program.Functions[function];
        long total = range.Length;
        var code = program.Decoded;
        for (int pc = range.Start; pc < range.End && total <= MaxInstructions; pc += code[pc].Length)
        {
            if (code[pc].Operation == Operation.CallLocal)
            {
                long callee = WorstCase(program, program.CallTargetFunction(pc), worst, open);
                total = callee > MaxInstructions ? long.MaxValue : total + callee;
            }
        }

        open[function] = false;
        worst[function] = total;
        return total;
    }
}
