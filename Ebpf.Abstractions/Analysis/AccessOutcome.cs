namespace Ebpf.Analysis;

/// <summary>What the safety analysis concluded about one memory access.</summary>
public enum AccessOutcome : byte
{
    /// <summary>The instruction is not a load, store or atomic.</summary>
    NotAnAccess,
    /// <summary>No path reaches it.</summary>
    Unreachable,
    /// <summary>In bounds of <see cref="AccessProof.Region"/> on every path: needs no run-time check.</summary>
    Proven,
    /// <summary>Outside the region its base register points into on every path that reaches it (rejected).</summary>
    Refuted,
    /// <summary>Neither: keeps its run-time check (a strict verification rejects the program).</summary>
    Unknown,
}
