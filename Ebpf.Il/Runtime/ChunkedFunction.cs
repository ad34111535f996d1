using Ebpf.Execution;

namespace Ebpf.Il.Runtime;

/// <summary>
/// A long eBPF function compiled as several chunks (see <see cref="IlChunk"/>), and the loop that runs it: call the
/// chunk holding the current pc at that entry, continue at the pc it returns, until it exits or stops.
/// </summary>
internal sealed unsafe class ChunkedFunction
{
    /// <summary>What a chunk returns when the function executed <c>exit</c>.</summary>
    public const ulong Exit = ulong.MaxValue;

    /// <summary>What a chunk returns when a helper asked the run to stop.</summary>
    public const ulong Stop = ulong.MaxValue - 1;

    private readonly int start;
    private readonly IlChunk[] chunks;
    private readonly int[] chunkOf;
    private readonly int[] entryOf;

    public ChunkedFunction(int start, IlChunk[] chunks, int[] chunkOf, int[] entryOf)
    {
        this.start = start;
        this.chunks = chunks;
        this.chunkOf = chunkOf;
        this.entryOf = entryOf;
    }

    /// <summary>Runs the function from its start; returns r0 (r0-r5 also in the frame), or the stop value.</summary>
    public ulong Run(RunState* state, CallFrame* frame, int depth)
    {
        int chunk = 0;
        int entry = 0;
        while (true)
        {
            ulong next = chunks[chunk](state, frame, depth, entry);
            if (next >= Stop)
            {
                return next == Exit ? frame->R0 : state->StopValue;
            }

            int offset = (int)next - start;
            chunk = chunkOf[offset];
            entry = entryOf[offset];
        }
    }
}
