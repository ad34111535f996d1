namespace Ebpf.Diagnostics;

/// <summary>
/// A compiled program that can run under an <see cref="IInstructionObserver"/>. The interpreter's programs implement
/// it; the JIT engines do not (their code has no per-instruction boundary to stop at). A run without an observer
/// (the <see cref="ICompiledProgram"/> methods) pays nothing for the ability.
/// </summary>
public interface IObservableProgram : ICompiledProgram
{
    /// <summary>
    /// Runs like <see cref="ICompiledProgram.Run(Span{byte}, Span{byte})"/> (with an empty <paramref name="metadata"/>:
    /// like <see cref="ICompiledProgram.Run(Span{byte})"/>), calling <paramref name="observer"/> before every
    /// instruction, including those of tail-call targets.
    /// </summary>
    /// <returns>r0.</returns>
    /// <exception cref="EbpfRuntimeException">The run failed (memory violation, budget, helper error, ...).</exception>
    ulong Run(Span<byte> memory, Span<byte> metadata, IInstructionObserver observer);
}
