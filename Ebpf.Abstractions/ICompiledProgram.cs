namespace Ebpf;

/// <summary>
/// A program ready to run on one engine. Thread-safe: concurrent runs each have their own registers and stack.
/// Every run of this library's engines starts on a stack that reads as zeros wherever the run did not write itself:
/// no byte of an earlier run, of another program or of the host shows through. Dispose it to release what the engine
/// holds (e.g. executable memory).
/// </summary>
public interface ICompiledProgram : IDisposable
{
    /// <summary>The engine that compiled it.</summary>
    string EngineName { get; }

    /// <summary>The program.</summary>
    EbpfProgram Program { get; }

    /// <summary>The environment it was compiled with.</summary>
    ProgramEnvironment Environment { get; }

    /// <summary>The options it was compiled with.</summary>
    ExecutionOptions Options { get; }

    /// <summary>Runs with no memory: r1 = 0, r2 = 0. Returns r0.</summary>
    ulong Run();

    /// <summary>Runs on <paramref name="memory"/>: r1 = its address (0 when empty), r2 = its length. Returns r0.</summary>
    /// <exception cref="EbpfRuntimeException">The run stopped with an error.</exception>
    ulong Run(Span<byte> memory);

    /// <summary>
    /// Runs with a metadata buffer (rbpf's mbuff): r1 = the metadata's address, r2 = its length; the program may also
    /// touch <paramref name="memory"/> (the packet; legacy packet loads read it). Returns r0.
    /// </summary>
    /// <exception cref="EbpfRuntimeException">The run stopped with an error.</exception>
    ulong Run(Span<byte> memory, Span<byte> metadata);

    /// <summary>
    /// Runs on <paramref name="memory"/> until it ends or <paramref name="cancellationToken"/> is cancelled (and within
    /// <see cref="ExecutionOptions.Timeout"/>, when set). Every engine notices a cancellation within about a millisecond,
    /// even in a tight loop; a helper that blocks delays it until the helper returns. A program of straight-line code
    /// without calls (nowhere to notice a stop: at most 4,096 slots, no helper or local call, no backward jump) refuses
    /// to start when the token is already cancelled (the exception's pc is 0) and otherwise runs to its end. Returns r0.
    /// </summary>
    /// <exception cref="EbpfRunCancelledException">The token was cancelled or the timeout passed.</exception>
    /// <exception cref="EbpfRuntimeException">The run stopped with another error.</exception>
    ulong Run(Span<byte> memory, CancellationToken cancellationToken);

    /// <summary>Runs with a metadata buffer (as <see cref="Run(Span{byte}, Span{byte})"/>) until it ends or
    /// <paramref name="cancellationToken"/> is cancelled (see <see cref="Run(Span{byte}, CancellationToken)"/>).</summary>
    /// <exception cref="EbpfRunCancelledException">The token was cancelled or the timeout passed.</exception>
    /// <exception cref="EbpfRuntimeException">The run stopped with another error.</exception>
    ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellationToken);
}
