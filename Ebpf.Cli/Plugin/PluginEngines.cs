using Ebpf.Interpreter;

namespace Ebpf.Cli.Plugin;

/// <summary>The engines the plugin can run programs on, by name (one line per engine).</summary>
public static class PluginEngines
{
    private static readonly Func<IExecutionEngine>[] Factories =
    [
        () => new InterpreterEngine(),
        () => new Ebpf.Il.IlEngine(),
        () => new Ebpf.X64.X64Engine(),
    ];

    /// <summary>The default engine's name.</summary>
    public const string DefaultName = InterpreterEngine.EngineName;

    /// <summary>The engines known to the plugin.</summary>
    public static IReadOnlyList<IExecutionEngine> All() => Factories.Select(f => f()).ToArray();

    /// <summary>The engine called <paramref name="name"/> (ordinal, case-insensitive), or null.</summary>
    public static IExecutionEngine? Find(string name) =>
        All().FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
}
