namespace Ebpf.X64.Runtime;

/// <summary>How a run of generated code ended (stored in <see cref="RunBlock.Status"/>).</summary>
internal enum RunStatus
{
    /// <summary>The entry function returned.</summary>
    Completed = 0,

    /// <summary>A helper asked the run to stop; r0 is the stop value.</summary>
    Stopped = 1,

    /// <summary>A helper (or the dispatcher) raised an exception, kept for the managed caller.</summary>
    HelperFailed = 2,

    /// <summary>A load, store or atomic was outside the regions.</summary>
    MemoryViolation = 3,

    /// <summary>The instruction budget ran out in the block starting at the error pc.</summary>
    BudgetExceeded = 4,

    /// <summary>A local call went deeper than the maximum.</summary>
    CallDepthExceeded = 5,

    /// <summary>The run was cancelled (or timed out), seen at the backward jump at the error pc.</summary>
    Cancelled = 6,
}
