using Ebpf.Interpreter;

namespace Ebpf.Cli.Plugin;

/// <summary>The engines the plugin can run programs on: the same registration as the rest of the tool (<see cref="ToolEngines"/>).</summary>
public static class PluginEngines
{
    /// <summary>The default engine's name.</summary>
    public const string DefaultName = InterpreterEngine.EngineName;

    /// <summary>The engines known to the plugin.</summary>
    public static IReadOnlyList<IExecutionEngine> All() => ToolEngines.Create().Engines;

    /// <summary>The engine called <paramref name="name"/> (ordinal, case-insensitive), or null.</summary>
    public static IExecutionEngine? Find(string name) =>
        ToolEngines.Create().TryGet(name, out var engine) ? engine : null;
}
