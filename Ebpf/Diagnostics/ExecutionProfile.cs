using System.Collections.Immutable;

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

    /// <summary>The program's basic blocks (<see cref="EbpfProgram.Analysis"/>) with the counts of this profile.</summary>
    private static List<BasicBlockProfile> FindBlocks(EbpfProgram program, long[] counts)
    {
        var blocks = new List<BasicBlockProfile>();
        foreach (var block in program.Analysis.Blocks)
        {
            long total = 0;
            for (int pc = block.Start; pc < block.End; pc++)
            {
                total += counts[pc];
            }

            blocks.Add(new BasicBlockProfile(block.Start, block.End, counts[block.Start], total));
        }

        return blocks;
    }
}
