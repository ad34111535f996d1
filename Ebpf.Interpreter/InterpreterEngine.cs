using Ebpf.Diagnostics;
using Microsoft.Extensions.Logging;
namespace Ebpf.Interpreter;

/// <summary>
/// The safe interpreter: the reference semantics of the project and the engine that runs everywhere (any CPU,
/// NativeAOT). Programs are pre-decoded once at compile time; every load, store and atomic is checked against the
/// run's regions whatever <see cref="ExecutionOptions.MemoryChecks"/> says; the budget is counted per instruction.
/// Stateless and thread-safe.
/// </summary>
public sealed class InterpreterEngine : IExecutionEngine
{
    /// <summary>The engine's name, <c>interpreter</c>.</summary>
    public const string EngineName = "interpreter";

    /// <summary>Creates the engine.</summary>
    public InterpreterEngine()
    {
    }

    /// <inheritdoc />
    public string Name => EngineName;

    /// <summary>Where compilations are logged (at debug level; failures as warnings), or null. The dependency-injection
    /// registration sets it to the category <c>Ebpf.Interpreter</c> of the container's logger factory.</summary>
    public ILogger? Logger { get; init; }

    /// <inheritdoc />
    public EngineCapabilities Capabilities => EngineCapabilities.Interpreted;

    /// <inheritdoc />
    public bool IsAvailable => true;

    /// <inheritdoc />
    public string? UnavailableReason => null;

    /// <inheritdoc />
    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return EbpfTelemetry.Compile(EngineName, program, Logger, () => EbpfCompilationException.Guard(EngineName, () => new InterpretedProgram(program, environment ?? new ProgramEnvironment(), options ?? ExecutionOptions.Default)));
    }

    /// <summary>
    /// Compiles like <see cref="Compile"/>, typed as what every interpreter program is: an
    /// <see cref="Diagnostics.IObservableProgram"/> that also runs under an observer (tracer, profiler, debugger).
    /// </summary>
    public Diagnostics.IObservableProgram CompileObservable(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
        (Diagnostics.IObservableProgram)Compile(program, environment, options);
}
