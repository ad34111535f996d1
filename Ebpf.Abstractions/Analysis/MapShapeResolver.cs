using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>Describes the map an <c>lddw</c> map pseudo source names (source 1/2 by fd, 5/6 by index), or null when unknown.</summary>
/// <param name="source">The pseudo source.</param>
/// <param name="imm">The immediate of the first slot (the fd or index).</param>
public delegate MapShape? MapShapeResolver(LddwSource source, int imm);
