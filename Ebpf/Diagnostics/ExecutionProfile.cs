using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf.Diagnostics;

/// <summary>How often each instruction of one program executed (see <see cref="ExecutionProfiler"/>), with its basic blocks.</summary>
public sealed class ExecutionProfile
{
    internal ExecutionProfile(EbpfProgram program, long[] counts)
    {
        Program = program;
        Counts = ImmutableArray.Create(counts);
        Blocks = FindBlocks(program, counts);
    }

    /// <summary>The program.</summary>
    public EbpfProgram Program { get; }

    /// <summary>The execution count of every slot, indexed by pc (0 for the second slot of an <c>lddw</c>).</summary>
    public ImmutableArray<long> Counts { get; }

    /// <summary>The instructions executed in total.</summary>
    public long TotalInstructions => Counts.Sum();

    /// <summary>The basic blocks in program order, with their counts.</summary>
    public IReadOnlyList<BasicBlockProfile> Blocks { get; }

    /// <summary>The <paramref name="count"/> blocks that executed the most instructions, hottest first (blocks never entered are left out).</summary>
    public IReadOnlyList<BasicBlockProfile> Hottest(int count) =>
        [.. Blocks.Where(b => b.Instructions > 0).OrderByDescending(b => b.Instructions).ThenBy(b => b.Start).Take(count)];

    /// <summary>
    /// Splits the program into basic blocks: a block starts at pc 0, at each function start and jump target and after
    /// each jump or exit; it ends before the next start. Local and helper calls do not end a block (execution comes back).
    /// </summary>
    private static List<BasicBlockProfile> FindBlocks(EbpfProgram program, long[] counts)
    {
        int length = program.Length;
        var leader = new bool[length + 1];
        leader[0] = true;
        foreach (var function in program.Functions)
        {
            leader[function.Start] = true;
        }

        for (int pc = 0; pc < length; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                continue;
            }

            if (program.IsJumpTarget(pc))
            {
                leader[pc] = true;
            }

            var insn = program.Instructions[pc];
            if (insn.Class is InstructionClass.Jmp or InstructionClass.Jmp32 && insn.OpCode is not (OpCodes.Call or OpCodes.CallX))
            {
                leader[pc + 1] = true;
            }
        }

        var blocks = new List<BasicBlockProfile>();
        int start = 0;
        for (int pc = 1; pc <= length; pc++)
        {
            if (leader[pc] || pc == length)
            {
                long total = 0;
                for (int i = start; i < pc; i++)
                {
                    total += counts[i];
                }

                blocks.Add(new BasicBlockProfile(start, pc, counts[start], total));
                start = pc;
            }
        }

        return blocks;
    }
}
