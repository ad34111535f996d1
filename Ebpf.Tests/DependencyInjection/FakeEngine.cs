using Ebpf.Interpreter;

namespace Ebpf.Tests.DependencyInjection;

/// <summary>An engine with a chosen name, kind and availability; when available it runs programs on the interpreter.</summary>
public sealed class FakeEngine(string name, EngineCapabilities capabilities, string? unavailableReason = null) : IExecutionEngine
{
    private readonly InterpreterEngine inner = new();

    public string Name => name;

    public EngineCapabilities Capabilities => capabilities;

    public bool IsAvailable => unavailableReason is null;

    public string? UnavailableReason => unavailableReason;

    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
        IsAvailable ? inner.Compile(program, environment, options) : throw new EbpfEngineUnavailableException(name, unavailableReason!);
}
