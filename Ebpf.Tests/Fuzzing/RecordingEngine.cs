using System.Collections.Concurrent;

namespace Ebpf.Tests.Fuzzing;

/// <summary>An engine that compiles with another and records the options of every compilation (to see what a campaign hands the engines).</summary>
public sealed class RecordingEngine(IExecutionEngine inner) : IExecutionEngine
{
    /// <summary>The options of every compilation so far.</summary>
    public ConcurrentQueue<ExecutionOptions> Compiled { get; } = new();

    public string Name => inner.Name;

    public EngineCapabilities Capabilities => inner.Capabilities;

    public bool IsAvailable => inner.IsAvailable;

    public string? UnavailableReason => inner.UnavailableReason;

    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        var compiled = inner.Compile(program, environment, options);
        Compiled.Enqueue(compiled.Options);
        return compiled;
    }
}
