using System.Globalization;

namespace Ebpf.Fuzzing;

/// <summary>What the proving verifier concluded over the programs of one generator family.</summary>
/// <param name="Programs">Programs of the family.</param>
/// <param name="Proven">Accesses proven in bounds.</param>
/// <param name="Unknown">Accesses left to their run-time check.</param>
/// <param name="Refuted">Accesses proven out of bounds.</param>
/// <param name="StrictAccepted">Programs every access of which is proven.</param>
public sealed record FamilyTally(long Programs, long Proven, long Unknown, long Refuted, long StrictAccepted)
{
    /// <summary>The share of the family's accesses that are proven, in percent (0 when it has none).</summary>
    public double ProvenPercent => Proven + Unknown + Refuted == 0 ? 0 : 100.0 * Proven / (Proven + Unknown + Refuted);

    /// <summary><c>P programs: A proven, U unknown, R refuted accesses (X% proven), S strict-accepted</c>.</summary>
    public string Summary => string.Create(
        CultureInfo.InvariantCulture,
        $"{Programs} programs: {Proven} proven, {Unknown} unknown, {Refuted} refuted accesses ({ProvenPercent:F1}% proven), {StrictAccepted} strict-accepted");
}
