namespace Ebpf.Il.Compiler;

/// <summary>The region a memory access is compared against inline (the others are tried on the cold path).</summary>
internal enum AccessRegion
{
    /// <summary>The input memory: the guess for pointers of unknown origin (e.g. loaded from memory).</summary>
    Input,

    /// <summary>The current and caller stack frames: pointers derived from r10.</summary>
    Stack,

    /// <summary>What r1 points at on entry (the metadata buffer when there is one, else the input).</summary>
    Context,
}
