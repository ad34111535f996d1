namespace Ebpf.Fuzzing;

/// <summary>A program on which the engines disagreed or an exception outside the project's hierarchy escaped.</summary>
/// <param name="Index">The program's number in the campaign (with the seed, enough to generate it again).</param>
/// <param name="Kind"><c>mismatch</c> or <c>exception</c>.</param>
/// <param name="Message">What differed, or the exception.</param>
/// <param name="Description">The program, its input and budget.</param>
public sealed record CampaignFinding(long Index, string Kind, string Message, string Description);
