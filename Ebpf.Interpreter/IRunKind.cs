namespace Ebpf.Interpreter;

/// <summary>
/// Which entry the dispatch loop serves. The loop is generic over it as over its hook, so the JIT compiles one copy
/// per kind: <see cref="PlainRun"/> for runs on a run state, <see cref="DirectRun"/> for the direct entry, whose copy
/// has no budget count, no stack frames and an input-only memory check.
/// </summary>
internal interface IRunKind
{
    /// <summary>
    /// True for the direct entry (see <c>Ebpf.Execution.DirectEntry</c>): the program is brief (no call, no backward
    /// jump, so its budget cannot run out and nothing polls it), uses r10 at most as the base of accesses inside a frame
    /// of the run's own (<c>DirectEntry.FrameBytes</c>) and reaches only that frame and the input, which the run
    /// state's <c>InputAddress</c> and <c>InputLength</c> hold (the loop reads no other field of it).
    /// </summary>
    static abstract bool Direct { get; }
}

/// <summary>A run on a run state: the budget, the stack area, the regions, calls and callbacks.</summary>
internal readonly struct PlainRun : IRunKind
{
    /// <inheritdoc />
    public static bool Direct => false;
}

/// <summary>A run through the direct entry (see <see cref="IRunKind.Direct"/>).</summary>
internal readonly struct DirectRun : IRunKind
{
    /// <inheritdoc />
    public static bool Direct => true;
}
