using Ebpf.Execution;

namespace Ebpf.Helpers;

/// <summary>
/// What a <c>bpf_tail_call</c> helper does with one program array, for an engine that enters the target itself
/// instead of calling the helper (x64, see <see cref="Helper.TailCallTargets"/>): the program the helper would
/// continue the run with. Given at compile time for a call whose map argument an <c>lddw</c> right before it names.
/// </summary>
internal abstract class TailCallTargets
{
    /// <summary>
    /// The program at <paramref name="index"/> that a tail call made after <paramref name="tailCallCount"/> others would
    /// enter, or null when the helper must decide (an empty or disposed slot, an index out of range, the limit reached,
    /// a disposed map): the engine then calls the helper, whose answer is the same as before.
    /// </summary>
    public abstract CompiledProgram? Find(uint index, int tailCallCount);
}
