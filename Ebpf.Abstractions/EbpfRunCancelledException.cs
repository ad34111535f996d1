using Ebpf.Isa;

namespace Ebpf;

/// <summary>
/// A run stopped from outside: its <see cref="CancellationToken"/> was cancelled (<see cref="RuntimeErrorKind.Cancelled"/>)
/// or it ran longer than <see cref="ExecutionOptions.Timeout"/> or <see cref="ExecutionOptions.RunTimeLimit"/>
/// (<see cref="RuntimeErrorKind.TimedOut"/>; <see cref="RunTimeLimitExceeded"/> tells the two apart). The pc is
/// where the engine noticed: a backward jump in the JIT engines, any instruction in the interpreter (which looks once
/// per slice of instructions), so it may differ between engines. Every engine notices within about a millisecond.
/// </summary>
public sealed class EbpfRunCancelledException : EbpfRuntimeException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="pc">The slot where the run stopped.</param>
    /// <param name="instruction">The instruction at that slot.</param>
    /// <param name="timeout">The timeout that passed, or null when the token was cancelled.</param>
    /// <param name="cancellationToken">The token the run was given.</param>
    public EbpfRunCancelledException(int pc, Instruction instruction, TimeSpan? timeout, CancellationToken cancellationToken)
        : base(
            timeout is null ? RuntimeErrorKind.Cancelled : RuntimeErrorKind.TimedOut,
            pc,
            instruction,
            timeout is { } t ? $"the run took longer than its timeout of {Seconds(t)} s" : "the run was cancelled")
    {
        Timeout = timeout;
        CancellationToken = cancellationToken;
    }

    /// <summary>Creates the exception for a run stopped by <see cref="ExecutionOptions.RunTimeLimit"/>.</summary>
    private EbpfRunCancelledException(int pc, Instruction instruction, TimeSpan runTimeLimit, bool runTimeLimitExceeded, CancellationToken cancellationToken)
        : base(
            RuntimeErrorKind.TimedOut,
            pc,
            instruction,
            $"the run took longer than ExecutionOptions.RunTimeLimit ({Seconds(runTimeLimit)} s); raise the limit, or set it to null to turn it off")
    {
        Timeout = runTimeLimit;
        CancellationToken = cancellationToken;
        RunTimeLimitExceeded = runTimeLimitExceeded;
    }

    /// <summary>The exception for a run at <paramref name="pc"/> stopped by <see cref="ExecutionOptions.RunTimeLimit"/> <paramref name="limit"/>.</summary>
    internal static EbpfRunCancelledException ForRunTimeLimit(int pc, Instruction instruction, TimeSpan limit, CancellationToken cancellationToken) =>
        new(pc, instruction, limit, runTimeLimitExceeded: true, cancellationToken);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The time limit that passed (<see cref="ExecutionOptions.Timeout"/>, or <see cref="ExecutionOptions.RunTimeLimit"/>
    /// when <see cref="RunTimeLimitExceeded"/>), or null when the run's token was cancelled.
    /// </summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The token the run was given (cancelled when <see cref="Timeout"/> is null).</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// True when the run was stopped by the process-wide watchdog of <see cref="ExecutionOptions.RunTimeLimit"/> (or
    /// the timer that stands in for it), false when by its <see cref="ExecutionOptions.Timeout"/> or its token.
    /// </summary>
    public bool RunTimeLimitExceeded { get; }
}
