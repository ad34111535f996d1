namespace Ebpf.Analysis;

/// <summary>A natural loop of a <see cref="FunctionGraph"/> (block numbers of that graph).</summary>
/// <param name="Head">The head: it dominates the body, and every edge into the loop from outside enters it.</param>
/// <param name="Latches">The blocks with an edge back to the head.</param>
/// <param name="Body">The head and the blocks that reach a latch without passing the head.</param>
/// <param name="Order">The body, every block after its predecessors in the body (edges into the head left out), the head first.</param>
internal sealed record NaturalLoop(int Head, IReadOnlyList<int> Latches, HashSet<int> Body, IReadOnlyList<int> Order);
