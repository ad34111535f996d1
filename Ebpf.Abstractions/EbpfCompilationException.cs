using Ebpf.Isa;

namespace Ebpf;

/// <summary>An engine could not prepare a verified program to run (e.g. an unknown helper id, an unresolved pseudo <c>lddw</c>, an unavailable engine).</summary>
public class EbpfCompilationException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="engine">The engine's name.</param>
    /// <param name="pc">The slot of the instruction concerned, or -1.</param>
    /// <param name="instruction">The instruction concerned, if any.</param>
    /// <param name="reason">What is wrong.</param>
    public EbpfCompilationException(string engine, int pc, Instruction? instruction, string reason)
        : base(pc < 0
            ? $"{engine}: cannot compile program: {reason}"
            : $"{engine}: cannot compile program at pc {pc} ({instruction}): {reason}")
    {
        Engine = engine;
        Pc = pc;
        Instruction = instruction;
        Reason = reason;
    }

    /// <summary>Creates the exception for an unexpected failure inside an engine (a defect), keeping the cause.</summary>
    /// <param name="engine">The engine's name.</param>
    /// <param name="innerException">What the engine threw.</param>
    public EbpfCompilationException(string engine, Exception innerException)
        : base($"{engine}: cannot compile program: internal error: {innerException?.GetType().Name}: {innerException?.Message}", innerException)
    {
        Engine = engine;
        Pc = -1;
        Reason = $"internal error: {innerException?.GetType().Name}: {innerException?.Message}";
    }

    /// <summary>
    /// Runs an engine's <paramref name="compile"/> so that no foreign exception type leaves it: the project's exceptions
    /// and argument errors pass through; anything else (an engine defect) becomes an
    /// <see cref="EbpfCompilationException"/> that keeps it as the inner exception.
    /// </summary>
    /// <param name="engine">The engine's name.</param>
    /// <param name="compile">The compilation.</param>
    /// <exception cref="EbpfCompilationException">The compilation failed unexpectedly.</exception>
    public static ICompiledProgram Guard(string engine, Func<ICompiledProgram> compile)
    {
        ArgumentNullException.ThrowIfNull(compile);
        try
        {
            return compile();
        }
        catch (Exception e) when (e is not (EbpfException or ArgumentException or OutOfMemoryException))
        {
            throw new EbpfCompilationException(engine, e);
        }
    }

    /// <summary>The engine's name.</summary>
    public string Engine { get; }

    /// <summary>The slot of the instruction concerned, or -1.</summary>
    public int Pc { get; }

    /// <summary>The instruction concerned, if any.</summary>
    public Instruction? Instruction { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
