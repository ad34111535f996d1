namespace Ebpf.Bench.Workloads;

/// <summary>An engine with the options it runs under in the benchmarks (e.g. <c>x64</c> with or without memory checks).</summary>
/// <param name="Label">The name shown in reports: the engine's name, with <c>-unchecked</c> when memory checks are off.</param>
/// <param name="Engine">The engine.</param>
/// <param name="Options">The options.</param>
internal sealed record EngineConfiguration(string Label, IExecutionEngine Engine, ExecutionOptions Options)
{
    /// <summary>The engine with default options (memory checks on).</summary>
    public static EngineConfiguration Checked(IExecutionEngine engine) => new(engine.Name, engine, ExecutionOptions.Default);

    /// <summary>The engine with memory checks off (trusted programs only).</summary>
    public static EngineConfiguration Unchecked(IExecutionEngine engine) =>
        new(engine.Name + "-unchecked", engine, ExecutionOptions.Default with { MemoryChecks = false });

    /// <summary>
    /// The configurations worth measuring for a set of engines: each engine with checks on, and the engines that can
    /// turn checks off (<see cref="EngineCapabilities.CanDisableMemoryChecks"/>; not the interpreter) with checks off too.
    /// </summary>
    public static IReadOnlyList<EngineConfiguration> For(IEnumerable<IExecutionEngine> engines)
    {
        var list = new List<EngineConfiguration>();
        var all = engines.ToList();
        list.AddRange(all.Select(Checked));
        list.AddRange(all.Where(e => (e.Capabilities & EngineCapabilities.CanDisableMemoryChecks) != 0).Select(Unchecked));
        return list;
    }

    /// <inheritdoc />
    public override string ToString() => Label;
}
