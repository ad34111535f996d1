using Ebpf.Isa;

namespace Ebpf;

/// <summary>
/// A run stopped from outside: its <see cref="CancellationToken"/> was cancelled (<see cref="RuntimeErrorKind.Cancelled"/>)
/// or it ran longer than <see cref="ExecutionOptions.Timeout"/> (<see cref="RuntimeErrorKind.TimedOut"/>). The pc is
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
            timeout is { } t ? $"the run took longer than its timeout of {t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s" : "the run was cancelled")
    {
        Timeout = timeout;
        CancellationToken = cancellationToken;
    }

    /// <summary>The timeout that passed, or null when the run's token was cancelled.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The token the run was given (cancelled when <see cref="Timeout"/> is null).</summary>
    public CancellationToken CancellationToken { get; }
}
