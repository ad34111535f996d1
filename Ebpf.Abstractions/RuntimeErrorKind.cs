namespace Ebpf;

/// <summary>Why a run stopped with an error. Every engine reports the same kind at the same pc.</summary>
public enum RuntimeErrorKind
{
    /// <summary>A load, store or atomic touched memory outside the run's regions (or wrote a read-only region).</summary>
    MemoryAccessViolation,
    /// <summary>The run executed more instructions than <see cref="ExecutionOptions.InstructionBudget"/> allows.</summary>
    BudgetExceeded,
    /// <summary>A local call went deeper than <see cref="ExecutionOptions.MaxCallDepth"/> frames.</summary>
    CallDepthExceeded,
    /// <summary>A helper threw an exception.</summary>
    HelperFailed,
    /// <summary><c>callx</c> named a helper id that is not registered.</summary>
    UnknownHelper,
    /// <summary>The run's <see cref="CancellationToken"/> was cancelled.</summary>
    Cancelled,
    /// <summary>The run took longer than <see cref="ExecutionOptions.Timeout"/>.</summary>
    TimedOut,
}
