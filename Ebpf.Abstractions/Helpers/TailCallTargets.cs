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

    /// <summary>
    /// The array's table of machine-code entries, one pointer-sized word per slot (pinned, alive as long as the array),
    /// for code that enters a target by a jump: 0 for a slot a tail call falls through (empty, or the array disposed),
    /// <see cref="HostDecides"/> for a slot whose program only the helper can enter, else the address of the program's
    /// tail-call descriptor (see <see cref="CompiledProgram.TailCallDescriptor"/>). 0 when the array has no table.
    /// </summary>
    public virtual nint Table => 0;

    /// <summary>The number of slots of <see cref="Table"/>.</summary>
    public virtual uint Capacity => 0;

    /// <summary>How many tail calls a run may make (the helper's limit): a tail call after that many falls through.</summary>
    public virtual int Limit => 0;

    /// <summary>A word of <see cref="Table"/>: the slot holds a program the code cannot enter itself; the helper decides.</summary>
    public const nint HostDecides = 1;
}
