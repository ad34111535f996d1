namespace Ebpf.Bench.Workloads;

/// <summary>A compiled workload and what it owns (e.g. the maps of its ELF object); dispose it after the last run.</summary>
internal sealed class CompiledWorkload : IDisposable
{
    private readonly IDisposable? owner;

    /// <summary>Wraps a compiled program and the object that owns its environment (disposed after it), if any.</summary>
    public CompiledWorkload(ICompiledProgram program, IDisposable? owner)
    {
        Program = program;
        this.owner = owner;
    }

    /// <summary>The compiled program.</summary>
    public ICompiledProgram Program { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Program.Dispose();
        owner?.Dispose();
    }
}
