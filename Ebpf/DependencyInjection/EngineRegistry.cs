namespace Ebpf.DependencyInjection;

/// <summary>The engine names registered in one service collection, in order (kept in the collection as an instance).</summary>
internal sealed class EngineRegistry
{
    private readonly List<string> names = [];
    private readonly object gate = new();

    public IReadOnlyList<string> Names
    {
        get
        {
            lock (gate)
            {
                return names.ToArray();
            }
        }
    }

    /// <summary>Adds <paramref name="name"/>; false when a name equal to it (case-insensitive) is already there.</summary>
    public bool TryAdd(string name)
    {
        lock (gate)
        {
            if (names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }

            names.Add(name);
            return true;
        }
    }
}
