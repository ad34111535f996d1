namespace Ebpf;

/// <summary>
/// A program ready to run on one engine. Thread-safe: concurrent runs each have their own registers and stack.
/// Dispose it to release what the engine holds (e.g. executable memory).
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
}
