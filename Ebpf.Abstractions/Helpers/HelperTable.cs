using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Ebpf.Helpers;

/// <summary>
/// The helpers a program may call, by id (and by name for look-up). Thread-safe. Engines take what they need when a
/// program is compiled: changing the table afterwards does not affect programs already compiled.
/// </summary>
public sealed class HelperTable : IEnumerable<Helper>
{
    private readonly object gate = new();
    private readonly Dictionary<uint, Helper> byId = new();

    /// <summary>The number of registered helpers.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return byId.Count;
            }
        }
    }

    /// <summary>Registers a helper; fails if the id is taken (use <see cref="Set(Helper)"/> to replace).</summary>
    /// <exception cref="ArgumentException">The id is already registered.</exception>
    public HelperTable Add(Helper helper)
    {
        ArgumentNullException.ThrowIfNull(helper);
        lock (gate)
        {
            if (byId.TryGetValue(helper.Id, out var existing))
            {
                throw new ArgumentException($"helper id {helper.Id} is already registered as '{existing.Name}'", nameof(helper));
            }

            byId[helper.Id] = helper;
        }

        return this;
    }

    /// <summary>Registers an rbpf-style helper; fails if the id is taken.</summary>
    public HelperTable Add(uint id, string name, HelperFunction function) => Add(new Helper(id, name, function));

    /// <summary>Registers a context-taking helper; fails if the id is taken.</summary>
    public HelperTable Add(uint id, string name, ContextHelperFunction function) => Add(new Helper(id, name, function));

    /// <summary>Registers a helper, replacing any helper with the same id.</summary>
    public HelperTable Set(Helper helper)
    {
        ArgumentNullException.ThrowIfNull(helper);
        lock (gate)
        {
            byId[helper.Id] = helper;
        }

        return this;
    }

    /// <summary>Registers an rbpf-style helper, replacing any helper with the same id.</summary>
    public HelperTable Set(uint id, string name, HelperFunction function) => Set(new Helper(id, name, function));

    /// <summary>Registers a context-taking helper, replacing any helper with the same id.</summary>
    public HelperTable Set(uint id, string name, ContextHelperFunction function) => Set(new Helper(id, name, function));

    /// <summary>Removes the helper with this id; false if there was none.</summary>
    public bool Remove(uint id)
    {
        lock (gate)
        {
            return byId.Remove(id);
        }
    }

    /// <summary>Finds a helper by id.</summary>
    public bool TryGet(uint id, [NotNullWhen(true)] out Helper? helper)
    {
        lock (gate)
        {
            return byId.TryGetValue(id, out helper);
        }
    }

    /// <summary>Finds a helper by name (ordinal comparison).</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out Helper? helper)
    {
        lock (gate)
        {
            helper = byId.Values.FirstOrDefault(h => h.Name == name);
            return helper is not null;
        }
    }

    /// <summary>A copy of the table.</summary>
    public HelperTable Clone()
    {
        var copy = new HelperTable();
        foreach (var helper in this)
        {
            copy.Set(helper);
        }

        return copy;
    }

    /// <summary>The helpers, ordered by id (a snapshot).</summary>
    public IEnumerator<Helper> GetEnumerator()
    {
        Helper[] snapshot;
        lock (gate)
        {
            snapshot = byId.Values.OrderBy(h => h.Id).ToArray();
        }

        return ((IEnumerable<Helper>)snapshot).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
