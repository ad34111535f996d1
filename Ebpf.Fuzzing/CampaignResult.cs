namespace Ebpf.Fuzzing;

/// <summary>The totals of a differential campaign.</summary>
/// <param name="Programs">Programs run.</param>
/// <param name="Mismatches">Programs on which an engine disagreed with the reference.</param>
/// <param name="UnexpectedExceptions">Programs for which an exception outside the project's hierarchy escaped.</param>
/// <param name="Outcomes">How many programs ended in each reference outcome (<c>result</c> or an error kind).</param>
/// <param name="Findings">The first findings, in program order.</param>
/// <param name="Elapsed">Wall-clock time.</param>
/// <param name="Verifier">The verifier's proofs and whether the runs bore them out (null when not checked).</param>
/// <param name="Stopped">True when the campaign was cancelled before it ran every program.</param>
public sealed record CampaignResult(
    long Programs,
    long Mismatches,
    long UnexpectedExceptions,
    IReadOnlyDictionary<string, long> Outcomes,
    IReadOnlyList<CampaignFinding> Findings,
    TimeSpan Elapsed,
    VerifierTally? Verifier = null,
    bool Stopped = false)
{
    /// <summary>True when no engine disagreed, no foreign exception escaped and no proof was contradicted.</summary>
    public bool IsClean => Mismatches == 0 && UnexpectedExceptions == 0 && (Verifier?.IsSound ?? true);

    /// <summary>The closing line of <c>ebpf fuzz</c>: <c>fuzz: N programs, M mismatches, K unexpected exceptions</c>.</summary>
    public string Summary => $"fuzz: {Programs} programs, {Mismatches} mismatches, {UnexpectedExceptions} unexpected exceptions";
}
