using Ebpf.Isa;

namespace Ebpf.Kernel;

/// <summary>
/// Whether every run of a program ends after a bounded number of instructions whatever its input: no backward jump,
/// no <c>callx</c>, no tail call, no callback (a <c>lddw</c> of a code address: <c>bpf_loop</c> and the like), and
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
    public static bool IsBounded(EbpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if ((insn.IsJump && insn.Target <= pc)
                || insn.Operation == Operation.CallX
                || (insn.Operation == Operation.CallHelper && insn.Imm == TailCallHelper)
                || insn.PseudoSource == LddwSource.CodeAddress)
            {
                return false;
            }
        }

        var worst = new long[program.Functions.Length];
        return WorstCase(program, 0, worst, new bool[worst.Length]) <= MaxInstructions;
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
