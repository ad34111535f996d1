namespace Ebpf.Analysis;

/// <summary>
/// The safety analysis' conclusion about the memory access at one pc: what it concluded, the region the base points
/// into, and the range of offsets (from the region's start; from the frame pointer for the stack) it may touch.
/// </summary>
/// <param name="Outcome">Proven, refuted or unknown (or not an access, or unreachable).</param>
/// <param name="Region">The kind of the base register's value (for a proven access: the region proven).</param>
/// <param name="MinOffset">The lowest first byte touched, relative to the region.</param>
/// <param name="MaxOffset">The highest first byte touched, relative to the region.</param>
/// <param name="Size">The access size in bytes.</param>
public readonly record struct AccessProof(AccessOutcome Outcome, ValueKind Region, long MinOffset, long MaxOffset, int Size)
{
    /// <inheritdoc />
    public override string ToString() => Outcome is AccessOutcome.NotAnAccess or AccessOutcome.Unreachable
        ? Outcome.ToString()
        : $"{Outcome} {Region} [{MinOffset}, {MaxOffset}] + {Size}";
}
