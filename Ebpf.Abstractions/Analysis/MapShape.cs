namespace Ebpf.Analysis;

/// <summary>What the safety analysis knows about a map an <c>lddw</c> pseudo source names.</summary>
/// <param name="Name">The map's name (for the log).</param>
/// <param name="KeySize">The key size in bytes.</param>
/// <param name="ValueSize">The value size in bytes.</param>
/// <param name="ReadOnly">True when programs may not write its values (e.g. .rodata).</param>
/// <param name="IsGlobalData">True for the maps that hold .data/.rodata/.bss.</param>
/// <param name="HoldsMaps">True for an array or hash of maps: a lookup yields an inner map, which the program passes to helpers as a map.</param>
public sealed record MapShape(string Name, int KeySize, int ValueSize, bool ReadOnly, bool IsGlobalData, bool HoldsMaps = false)
{
    /// <summary>True for the shape the analysis gives a ring-buffer record (see SafetyAnalyzer.Records), not a map's.</summary>
    internal bool IsRingBufferRecord { get; init; }
}
