namespace Ebpf.Fuzzing;

/// <summary>A program on which the engines disagreed, an exception outside the project's hierarchy escaped or a run contradicted the verifier.</summary>
/// <param name="Index">The program's number in the campaign (with the seed, enough to generate it again).</param>
/// <param name="Kind"><c>mismatch</c>, <c>exception</c> or <c>unsound</c> (a run contradicted a proof of the verifier).</param>
/// <param name="Message">What differed, or the exception.</param>
/// <param name="Description">The program, its input and budget.</param>
public sealed record CampaignFinding(long Index, string Kind, string Message, string Description);
