using Ebpf.Analysis;
using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Maps;

/// <summary>
/// The maps of one <see cref="ProgramEnvironment"/>: numbers them (the index is both the "fd" of
/// <c>lddw</c> pseudo source 1/2 and the index of pseudo source 5/6), registers their value storage as regions of the
/// environment, resolves the pseudo <c>lddw</c> sources to map handles and value addresses, and finds a map from
/// the handle a program passes to a helper. Thread-safe. Get it with <see cref="For(ProgramEnvironment)"/>.
/// </summary>
public sealed class MapRegistry
{
    /// <summary>The key of the registry in <see cref="ProgramEnvironment.Properties"/>.</summary>
    public const string PropertyKey = "Ebpf.Maps.MapRegistry";

    /// <summary>The first handle value; handles are <c>HandleBase + 16 * index</c>, never valid program memory.</summary>
    public const ulong HandleBase = 0xffff_eb9f_0000_0000;

    private readonly object gate = new();
    private readonly ProgramEnvironment environment;
    private BpfMap[] maps = [];

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<BpfMap, MapShape> shapes = new();

    private MapRegistry(ProgramEnvironment environment)
    {
        this.environment = environment;
    }

    /// <summary>The registered maps, by index (a snapshot).</summary>
    public IReadOnlyList<BpfMap> Maps => Volatile.Read(ref maps);

    /// <summary>The registered maps as the array itself (a snapshot; never written): a loop over it allocates no enumerator.</summary>
    internal BpfMap[] MapArray => Volatile.Read(ref maps);

    /// <summary>
    /// The registry of <paramref name="environment"/>, created on first use. Creating it also installs its
    /// <see cref="Resolve"/> as the environment's <see cref="ProgramEnvironment.LddwResolver"/> when none is set.
    /// </summary>
    public static MapRegistry For(ProgramEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment.Properties.TryGetValue(PropertyKey, out var existing))
        {
            return (MapRegistry)existing;
        }

        lock (environment.Properties)
        {
            if (!environment.Properties.TryGetValue(PropertyKey, out existing))
            {
                var registry = new MapRegistry(environment);
                environment.LddwResolver ??= registry.Resolve;
                environment.MapShapes ??= registry.Describe;
                environment.Properties[PropertyKey] = registry;
                existing = registry;
            }
        }

        return (MapRegistry)existing;
    }

    /// <summary>The registry of <paramref name="environment"/> if it has one.</summary>
    /// <remarks>
    /// Map helpers call this on every call: it first looks at the environment's <see cref="ProgramEnvironment.LddwResolver"/>,
    /// which is the registry's own <see cref="Resolve"/> unless the host installed another, and only then at
    /// <see cref="ProgramEnvironment.Properties"/> (a string-keyed dictionary lookup costs about as much as the rest of a
    /// map lookup).
    /// </remarks>
    public static MapRegistry? Find(ProgramEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment.LddwResolver?.Target is MapRegistry own && own.environment == environment)
        {
            return own;
        }

        return environment.Properties.TryGetValue(PropertyKey, out var registry) ? (MapRegistry)registry : null;
    }

    /// <summary>
    /// Registers <paramref name="map"/> (and its value region) and returns its index; for an array or hash of maps,
    /// also its inner maps, now and whenever one is set.
    /// </summary>
    public int Add(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        int index;
        lock (gate)
        {
            if (Array.IndexOf(maps, map) is var known and >= 0)
            {
                return known;
            }

            map.MarkShared();
            if (map.ValueRegion.Length != 0)
            {
                environment.AddRegion(map.ValueRegion);
            }

            if (map.KeyRegion.Length != 0)
            {
                environment.AddRegion(map.KeyRegion);
            }

            var next = new BpfMap[maps.Length + 1];
            maps.CopyTo(next, 0);
            next[^1] = map;
            Volatile.Write(ref maps, next);
            index = next.Length - 1;
        }

        (map as MapOfMaps)?.Attach(this);
        return index;
    }

    /// <summary>The handle of the map with index <paramref name="index"/>: the value a program holds for it.</summary>
    public static ulong HandleOf(int index) => HandleBase + (16ul * (uint)index);

    /// <summary>The map a program's handle designates, or null.</summary>
    public BpfMap? FromHandle(ulong handle)
    {
        var current = Volatile.Read(ref maps);
        ulong offset = handle - HandleBase;
        return handle >= HandleBase && offset % 16 == 0 && offset / 16 < (ulong)current.Length ? current[offset / 16] : null;
    }

    /// <summary>The map registered under <paramref name="name"/>, or null.</summary>
    public BpfMap? FindByName(string name) => Volatile.Read(ref maps).FirstOrDefault(m => m.Name == name);

    /// <summary>
    /// Describes the map a pseudo <c>lddw</c> source names, for the safety analysis (one <see cref="MapShape"/> per
    /// map, so pointers into one map compare); maps named like ELF sections (.data, .rodata, .bss) are global data.
    /// Null when there is no such map.
    /// </summary>
    public MapShape? Describe(LddwSource source, int imm)
    {
        var current = Volatile.Read(ref maps);
        if ((uint)imm >= (uint)current.Length)
        {
            return null;
        }

        var map = current[imm];
        bool value = source is LddwSource.MapValueByFd or LddwSource.MapValueByIndex;
        if (value && map.Type != BpfMapType.Array)
        {
            return null;
        }

        return shapes.GetValue(map, m => new MapShape(m.Name, m.KeySize, m.ValueSize, m.Definition.IsReadOnlyForPrograms, m.Name.StartsWith('.'), m is MapOfMaps));
    }

    /// <summary>
    /// Resolves pseudo <c>lddw</c> sources: map by fd / index (1, 5) -> the map's handle; map value by fd / index
    /// (2, 6) -> the address of byte <c>nextImm</c> of the first value of an array map.
    /// </summary>
    /// <exception cref="ArgumentException">The map does not exist, is not an array, or the offset is outside its value.</exception>
    public ulong Resolve(LddwSource source, int imm, int nextImm)
    {
        var current = Volatile.Read(ref maps);
        if ((uint)imm >= (uint)current.Length)
        {
            throw new ArgumentException(Invariant($"no map with index {imm} ({current.Length} registered)"));
        }

        var map = current[imm];
        switch (source)
        {
            case LddwSource.MapByFd:
            case LddwSource.MapByIndex:
                return HandleOf(imm);
            case LddwSource.MapValueByFd:
            case LddwSource.MapValueByIndex:
                if (map.Type != BpfMapType.Array)
                {
                    throw new ArgumentException($"map '{map.Name}' is a {map.Type} map: only array values can be addressed directly");
                }

                if (nextImm < 0 || nextImm >= map.ValueSize)
                {
                    throw new ArgumentException(Invariant($"offset {nextImm} is outside the {map.ValueSize}-byte value of map '{map.Name}'"));
                }

                return map.ValueRegion.Address + (ulong)nextImm;
            default:
                throw new ArgumentException($"lddw pseudo source {source} is not supported by the map registry");
        }
    }
}
