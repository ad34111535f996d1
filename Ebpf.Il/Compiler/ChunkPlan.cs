using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// How a long function is split into chunks, each compiled into a <see cref="System.Reflection.Emit.DynamicMethod"/>
/// of its own (RyuJIT's time grows faster than linearly with a method's size). A chunk is a run of whole instructions
/// of about <c>chunkSlots</c> slots; it starts where a budget segment starts (so the budget is charged exactly as in
/// one method). Its entries are its first instruction and every instruction a jump in another chunk targets.
/// </summary>
internal sealed class ChunkPlan
{
    private ChunkPlan(int[] starts, int[] chunkOf, int[] entryOf, List<int>[] entries)
    {
        Starts = starts;
        ChunkOf = chunkOf;
        EntryOf = entryOf;
        Entries = entries;
    }

    /// <summary>The first pc of every chunk, in order.</summary>
    public int[] Starts { get; }

    /// <summary>For every slot of the function (indexed from its start): the chunk holding it.</summary>
    public int[] ChunkOf { get; }

    /// <summary>For every entry (indexed from the function's start): its index among its chunk's entries; else -1.</summary>
    public int[] EntryOf { get; }

    /// <summary>The entry pcs of every chunk; the first is the chunk's start.</summary>
    public List<int>[] Entries { get; }

    /// <summary>The number of chunks.</summary>
    public int Count => Starts.Length;

    /// <summary>The pc after the last instruction of chunk <paramref name="chunk"/>.</summary>
    public int End(FunctionInfo function, int chunk) => chunk + 1 < Starts.Length ? Starts[chunk + 1] : function.End;

    /// <summary>
    /// Splits <paramref name="function"/> when it is longer than <paramref name="chunkSlots"/> slots; null when it is
    /// not (it stays one method). <paramref name="segments"/> are the budget segments (null without a budget).
    /// </summary>
    public static ChunkPlan? Create(EbpfProgram program, FunctionInfo function, BudgetSegments? segments, int chunkSlots)
    {
        if (function.Length <= chunkSlots)
        {
            return null;
        }

        var starts = new List<int> { function.Start };
        var chunkOf = new int[function.Length];
        for (int pc = function.Start; pc < function.End; pc++)
        {
            int offset = pc - function.Start;
            if (!program.IsSecondSlot(pc) && pc - starts[^1] >= chunkSlots && (segments is null || segments.LengthAt(pc) > 0))
            {
                starts.Add(pc);
            }

            chunkOf[offset] = starts.Count - 1;
        }

        if (starts.Count == 1)
        {
            return null;
        }

        var entries = new List<int>[starts.Count];
        var entryOf = new int[function.Length];
        Array.Fill(entryOf, -1);
        for (int c = 0; c < starts.Count; c++)
        {
            entries[c] = [starts[c]];
            entryOf[starts[c] - function.Start] = 0;
        }

        for (int pc = function.Start; pc < function.End; pc++)
        {
            var insn = program.Decoded[pc];
            if (!insn.IsJump)
            {
                continue;
            }

            int target = insn.Target;
            int chunk = chunkOf[target - function.Start];
            if (chunk != chunkOf[pc - function.Start] && entryOf[target - function.Start] < 0)
            {
                entryOf[target - function.Start] = entries[chunk].Count;
                entries[chunk].Add(target);
            }
        }

        return new ChunkPlan(starts.ToArray(), chunkOf, entryOf, entries);
    }
}
