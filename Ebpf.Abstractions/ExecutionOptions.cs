namespace Ebpf;

/// <summary>How a program is compiled and run. Immutable; the defaults are the safe ones.</summary>
public sealed record ExecutionOptions
{
    /// <summary>The default options: 512-byte frames, 8 frames, no budget, no timeout, memory checks on.</summary>
    public static ExecutionOptions Default { get; } = new();

    /// <summary>The bytes of stack per frame (a multiple of 8, from 8 to 65,536). Default 512.</summary>
    public int StackSize { get; init; } = 512;

    /// <summary>The maximum number of frames (the entry function counts as one), from 1 to 64. Default 8.</summary>
    public int MaxCallDepth { get; init; } = 8;

    /// <summary>
    /// The most instructions a run may execute (those of called local functions included, an <c>lddw</c> counting
    /// once), or null for no limit. Exact in every engine: a run that would execute one more stops with an
    /// <see cref="EbpfBudgetExceededException"/> at that instruction, the same pc in every engine. (The JIT engines
    /// charge whole straight-line segments at once, see <see cref="Analysis.BudgetSegments"/>, and recover the exact pc
    /// when a segment does not fit.)
    /// </summary>
    public long? InstructionBudget { get; init; }

    /// <summary>
    /// The longest one run may take, or null for no limit (the default, which costs nothing). When it passes, the run
    /// stops within about a millisecond with <see cref="EbpfRunCancelledException"/> (<see cref="RuntimeErrorKind.TimedOut"/>),
    /// in every engine and even in a tight loop. A timer is armed per run, which costs a few hundred nanoseconds: for
    /// very short programs prefer <see cref="InstructionBudget"/> or a <see cref="CancellationToken"/> shared by many
    /// runs. Untrusted programs should have one of the three (the <c>ebpf</c> tool uses 10 seconds).
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The largest <see cref="Timeout"/> accepted (what a timer supports: about 49 days).</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// Whether every load, store and atomic is checked against the run's regions. On by default. Turning it off in
    /// the JIT engines removes the checks from the generated code: a faulty or hostile program can then read or
    /// write any host memory and crash the process. Only for trusted programs. The interpreter always checks.
    /// </summary>
    public bool MemoryChecks { get; init; } = true;

    /// <summary>Whether pointer arguments of helpers are checked against the run's regions. On by default.</summary>
    public bool HelperArgumentChecks { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public ExecutionOptions Validate()
    {
        if (StackSize < 8 || StackSize > 65536 || StackSize % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StackSize), StackSize, "StackSize must be a multiple of 8 from 8 to 65536");
        }

        if (MaxCallDepth < 1 || MaxCallDepth > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCallDepth), MaxCallDepth, "MaxCallDepth must be from 1 to 64");
        }

        if (InstructionBudget is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(InstructionBudget), InstructionBudget, "InstructionBudget must be positive (or null for no limit)");
        }

        if (Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxTimeout))
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), timeout, "Timeout must be positive and at most MaxTimeout (or null for no limit)");
        }

        return this;
    }
}
