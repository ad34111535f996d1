using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Splits a function into budget segments: straight-line runs of instructions that the generated code pays for with
/// one check at their start. A segment starts at the function's entry, at every jump target and after every
/// instruction that can leave the straight line or fail (jumps, calls, exit, checked memory accesses, packet loads).
/// Because only a segment's last instruction can fail, a segment that does not fit in the remaining budget fails at
/// exactly the instruction where the interpreter, which counts one by one, would stop.
/// </summary>
internal static class BudgetPlan
{
    /// <summary>For every slot of the function (indexed from its start): the segment's length in instructions when a
    /// segment starts there, else 0.</summary>
    public static int[] Segments(EbpfProgram program, FunctionInfo function, bool memoryChecks)
    {
        var lengths = new int[function.Length];
        int start = -1;
        for (int pc = function.Start; pc < function.End; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                continue;
            }

            if (start < 0 || program.IsJumpTarget(pc))
            {
                start = pc;
            }

            lengths[start - function.Start]++;
            if (program.Decoded[pc].EndsStraightLine(memoryChecks))
            {
                start = -1;
            }
        }

        return lengths;
    }
}
