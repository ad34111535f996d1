using System.Collections.Immutable;

namespace Ebpf.Analysis;

/// <summary>
/// A basic block of the control-flow graph: the slots <see cref="Start"/>..<see cref="End"/> (exclusive) run in
/// order; control enters only at <see cref="Start"/> and leaves only after the last instruction.
/// </summary>
/// <param name="Start">The first slot.</param>
/// <param name="End">The slot after the last one.</param>
/// <param name="Function">The index of the function that holds the block.</param>
/// <param name="Successors">The first slots of the blocks control can go to next: a jump's target first, then the
/// next block when control can fall through (none after <c>exit</c>); a local call continues with the next
/// instruction in the same block.</param>
public sealed record BasicBlock(int Start, int End, int Function, ImmutableArray<int> Successors);
