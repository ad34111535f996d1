namespace Ebpf.Analysis;

/// <summary>
/// The budget segments of a program: straight-line runs of instructions a JIT pays for with one check at their start.
/// A segment starts at every function entry and jump target and after every instruction that can fail or leave the
/// straight line (<see cref="Isa.DecodedInstruction.EndsStraightLine"/>). Since only a segment's last instruction can
/// fail, a segment that does not fit in the remaining budget fails at exactly the instruction where the interpreter,
/// which counts one by one, stops: <see cref="FailingPc"/> recovers it.
/// </summary>
public sealed class BudgetSegments
{
    private readonly EbpfProgram program;
    private readonly int[] lengths;

    internal BudgetSegments(EbpfProgram program, bool memoryChecks)
    {
        this.program = program;
        lengths = new int[program.Length];
        int start = -1;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            if (start < 0 || program.IsJumpTarget(pc) || program.Functions[program.FunctionIndexOf(pc)].Start == pc)
            {
                start = pc;
            }

            lengths[start]++;
            if (code[pc].EndsStraightLine(memoryChecks))
            {
                start = -1;
            }
        }
    }

    /// <summary>The number of instructions of the segment that starts at <paramref name="pc"/>, or 0 when none starts there.</summary>
    public int LengthAt(int pc) => lengths[pc];

    /// <summary>
    /// The instruction that exceeds the budget in the segment starting at <paramref name="segmentStart"/> when the
    /// budget allowed only <paramref name="allowed"/> more instructions (fewer than the segment's length).
    /// </summary>
    public int FailingPc(int segmentStart, long allowed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(allowed);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(allowed, lengths[segmentStart]);
        int pc = segmentStart;
        for (long i = 0; i < allowed; i++)
        {
            pc += program.Decoded[pc].Length;
        }

        return pc;
    }
}
