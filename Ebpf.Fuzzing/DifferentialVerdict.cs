namespace Ebpf.Fuzzing;

/// <summary>What a differential comparison concluded about one program and input.</summary>
/// <param name="Compared">
/// False when the program's outcome depends on where its memory and stack happen to lie (it leaks a host address into
/// r0 or memory), so engines cannot be compared on it.
/// </param>
/// <param name="Reference">The reference engine's outcome (see <see cref="DifferentialRunner.Outcome"/>).</param>
/// <param name="Mismatch">The first disagreement with the reference, or null when every engine agreed.</param>
public sealed record DifferentialVerdict(bool Compared, string Reference, string? Mismatch)
{
    /// <summary>
    /// The pc of the access whose check stopped the reference run (an <see cref="EbpfMemoryAccessException"/>, from the
    /// program itself or from a helper it called), or null when the run did not end that way.
    /// </summary>
    public int? ReferenceViolationPc { get; init; }

    /// <summary>
    /// How many accesses the engines compile without a check because the safety analysis proves them (0 unless
    /// <see cref="DifferentialRunner.CheckProofUse"/>); when more than 0, that compilation was run on every engine and
    /// compared too.
    /// </summary>
    public int DroppedChecks { get; init; }
}
