using Ebpf.Elf;

namespace Ebpf.Cli.Loading;

/// <summary>A program read from a file, with what it runs with. Dispose it after its compiled programs.</summary>
internal sealed class LoadedProgram : IDisposable
{
    /// <summary>Creates the loaded program.</summary>
    /// <param name="program">The verified program.</param>
    /// <param name="kind">What the file held.</param>
    /// <param name="environment">The helpers (and, for ELF objects, maps) the program may use.</param>
    /// <param name="memory">The memory the file itself gives the program (a conformance test's <c>mem</c> section), or null.</param>
    /// <param name="expectedResult">The r0 the file expects (a conformance test's <c>result</c> section), or null.</param>
    /// <param name="runtime">For ELF objects: the maps and environment the program runs with.</param>
    public LoadedProgram(EbpfProgram program, ProgramKind kind, ProgramEnvironment environment, byte[]? memory, ulong? expectedResult, ElfRuntime? runtime = null)
    {
        Program = program;
        Kind = kind;
        Environment = environment;
        Memory = memory;
        ExpectedResult = expectedResult;
        Runtime = runtime;
    }

    /// <summary>The verified program.</summary>
    public EbpfProgram Program { get; }

    /// <summary>What the file held.</summary>
    public ProgramKind Kind { get; }

    /// <summary>The helpers (and maps) the program may use.</summary>
    public ProgramEnvironment Environment { get; }

    /// <summary>The memory the file gives the program, or null.</summary>
    public byte[]? Memory { get; }

    /// <summary>The r0 the file expects, or null.</summary>
    public ulong? ExpectedResult { get; }

    /// <summary>For ELF objects, the maps and environment; else null.</summary>
    public ElfRuntime? Runtime { get; }

    /// <summary>Compiles the program on <paramref name="engine"/> (for ELF objects, with the tail-call targets it needs).</summary>
    public ICompiledProgram Compile(IExecutionEngine engine, ExecutionOptions options) =>
        Runtime is null ? engine.Compile(Program, Environment, options) : Runtime.Compile(engine, Program.Name, options);

    /// <inheritdoc />
    public void Dispose() => Runtime?.Dispose();
}
