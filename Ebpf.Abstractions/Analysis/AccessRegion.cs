namespace Ebpf.Analysis;

/// <summary>
/// The region a memory access most likely touches (see <see cref="AnalysisResults.RegionOf"/>): what a JIT compares
/// against inline, trying the others on its cold path.
/// </summary>
public enum AccessRegion
{
    /// <summary>The input memory: the guess for pointers of unknown origin (e.g. loaded from memory).</summary>
    Input,

    /// <summary>The current and caller stack frames: pointers derived from r10.</summary>
    Stack,

    /// <summary>What r1 points at on entry (the metadata buffer when there is one, else the input).</summary>
    Context,
}
