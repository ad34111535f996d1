using System.Globalization;

namespace Ebpf.Fuzzing;

/// <summary>
/// What the proving verifier concluded over a campaign's programs, and whether the runs bore it out: a proven access
/// that tripped its check, or a fault in a program strict verification accepts, is an unsound proof.
/// </summary>
/// <param name="Proven">Accesses proven in bounds.</param>
/// <param name="Unknown">Accesses left to their run-time check.</param>
/// <param name="Refuted">Accesses proven out of bounds.</param>
/// <param name="StrictAccepted">Programs every access of which is proven (strict verification accepts them).</param>
/// <param name="StrictFaulted">Strictly accepted programs whose run ended in a memory access violation other than a legacy packet load's (whose check is part of the instruction); must be 0.</param>
/// <param name="ProvenTripped">Runs of programs the verifier accepts (no errors) stopped by the check of an access it proved, or (kernel programs) in which a proven packet or metadata access left the packet's or the metadata's bounds at the time (must be 0).</param>
public sealed record VerifierTally(long Proven, long Unknown, long Refuted, long StrictAccepted, long StrictFaulted, long ProvenTripped)
{
    /// <summary>The same split per generator family (<see cref="DifferentialCase.Family"/>), in the order the families were first met.</summary>
    public IReadOnlyDictionary<string, FamilyTally> Families { get; init; } = new Dictionary<string, FamilyTally>();

    /// <summary>Programs whose compilation drops at least one check because the analysis proves the access (run and compared with every check forced on).</summary>
    public long ProofUsePrograms { get; init; }

    /// <summary>The checks those compilations dropped (per program, summed).</summary>
    public long DroppedChecks { get; init; }

    /// <summary>Kernel programs the verifier accepts with a proven packet or metadata access, run under the packet-bounds oracle.</summary>
    public long PacketPrograms { get; init; }

    /// <summary>The proven packet and metadata accesses those runs executed, each compared with the bounds at the time.</summary>
    public long PacketAccessesChecked { get; init; }

    /// <summary>True when no run contradicted a proof.</summary>
    public bool IsSound => StrictFaulted == 0 && ProvenTripped == 0;

    /// <summary>
    /// The line <c>ebpf fuzz</c> prints: <c>verifier: P proven, U unknown, R refuted accesses (T proven tripped); S
    /// programs strict-accepted, F faulted</c>.
    /// </summary>
    public string Summary => string.Create(
        CultureInfo.InvariantCulture,
        $"verifier: {Proven} proven, {Unknown} unknown, {Refuted} refuted accesses ({ProvenTripped} proven tripped); {StrictAccepted} programs strict-accepted, {StrictFaulted} faulted");

    /// <summary>
    /// The line <c>ebpf fuzz</c> prints about the compilations that use the proofs: <c>proof use: P programs compiled
    /// with C checks dropped, each run on every engine and compared with every check forced on</c> (a difference is a
    /// mismatch).
    /// </summary>
    public string ProofUseSummary => string.Create(
        CultureInfo.InvariantCulture,
        $"proof use: {ProofUsePrograms} programs compiled with {DroppedChecks} checks dropped, each run on every engine and compared with every check forced on");

    /// <summary>
    /// The line <c>ebpf fuzz</c> prints about the packet proofs: <c>packet bounds: A proven packet and metadata accesses
    /// run in P kernel programs, each checked against [data, data_end) or [data_meta, data) as they were</c> (an
    /// access outside counts as proven tripped).
    /// </summary>
    public string PacketSummary => string.Create(
        CultureInfo.InvariantCulture,
        $"packet bounds: {PacketAccessesChecked} proven packet and metadata accesses run in {PacketPrograms} kernel programs, each checked against [data, data_end) or [data_meta, data) as they were");
}
