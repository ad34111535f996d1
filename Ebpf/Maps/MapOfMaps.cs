using System.Buffers.Binary;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_ARRAY_OF_MAPS</c> (u32 index below <see cref="BpfMap.MaxEntries"/>) and
/// <c>BPF_MAP_TYPE_HASH_OF_MAPS</c> (any key): each entry holds an inner map that matches the definition's
/// <see cref="MapDefinition.InnerMap"/> template (type, key and value sizes, flags, and capacity unless the template
/// has <see cref="MapDefinition.InnerMapFlag"/>), as in Linux. The host sets entries with <see cref="Set(uint, BpfMap, MapUpdateFlags)"/> (and may
/// create matching maps with <see cref="CreateInnerMap"/>); a program's <c>bpf_map_lookup_elem</c> returns the inner
/// map's handle, which it passes to the map helpers like any map. An inner map is registered (with its values' region)
/// in every environment the outer map is registered in as soon as it is set, so runs that start afterwards can use its
/// values; a run that started before the set and finds the new inner map ends with a memory access error when it
/// touches a value (never outside the map). The byte-level host API reports an inner map as its 4-byte <see cref="BpfMap.Id"/>; it cannot
/// set entries (there are no file descriptors): use <see cref="Set(uint, BpfMap, MapUpdateFlags)"/>. Operations take a short lock.
/// </summary>
public sealed class MapOfMaps : BpfMap
{
    private readonly object gate = new();
    private readonly Dictionary<byte[], BpfMap> inner = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], BpfMap>.AlternateLookup<ReadOnlySpan<byte>> bySpan;
    private readonly List<WeakReference<MapRegistry>> registries = [];

    /// <summary>Creates an array or hash of maps.</summary>
    /// <exception cref="ArgumentException">The definition is invalid (e.g. has no inner map template) or of another type.</exception>
    public MapOfMaps(MapDefinition definition)
        : base(definition, BpfMapType.ArrayOfMaps, BpfMapType.HashOfMaps)
    {
        bySpan = inner.GetAlternateLookup<ReadOnlySpan<byte>>();
        Template = definition.InnerMap!;
    }

    /// <summary>The template inner maps must match.</summary>
    public MapDefinition Template { get; }

    /// <inheritdoc />
    public override int Count
    {
        get
        {
            lock (gate)
            {
                return inner.Count;
            }
        }
    }

    /// <summary>Creates a map from the template (named <paramref name="name"/>), which the caller owns and may <see cref="Set(uint, BpfMap, MapUpdateFlags)"/>.</summary>
    public BpfMap CreateInnerMap(string name) => Create(Template with { Name = name });

    /// <summary>
    /// Puts <paramref name="map"/> at <paramref name="key"/> with the semantics of <c>bpf_map_update_elem</c>'s flags
    /// (an array of maps takes only <see cref="MapUpdateFlags.Any"/>, as in Linux).
    /// </summary>
    /// <exception cref="ArgumentException">The key has the wrong size, or the map does not match the template.</exception>
    public MapStatus Set(ReadOnlySpan<byte> key, BpfMap map, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckKey(key);
        ArgumentNullException.ThrowIfNull(map);
        var t = Template;
        var d = map.Definition;
        if (d.Type != t.Type || d.KeySize != t.KeySize || d.ValueSize != t.ValueSize || d.Flags != t.Flags
            || ((t.Flags & MapDefinition.InnerMapFlag) == 0 && d.MaxEntries != t.MaxEntries))
        {
            throw new ArgumentException($"map '{map.Name}' ({map}) does not match the inner map template of '{Name}' ({t.Type}, key {t.KeySize} B, value {t.ValueSize} B, max {t.MaxEntries}, flags 0x{t.Flags:x})", nameof(map));
        }

        if ((ulong)flags > (ulong)MapUpdateFlags.Exist)
        {
            return MapStatus.InvalidArgument;
        }

        bool isArray = Type == BpfMapType.ArrayOfMaps;
        if (isArray && flags != MapUpdateFlags.Any)
        {
            return MapStatus.InvalidArgument;
        }

        if (isArray && BinaryPrimitives.ReadUInt32LittleEndian(key) >= (uint)MaxEntries)
        {
            return MapStatus.TooBig;
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            bool present = bySpan.ContainsKey(key);
            if (present ? flags == MapUpdateFlags.NoExist : flags == MapUpdateFlags.Exist)
            {
                return present ? MapStatus.Exists : MapStatus.NotFound;
            }

            if (!present && !isArray && inner.Count >= MaxEntries)
            {
                return MapStatus.TooBig;
            }

            // Every environment this map is registered in registers the inner map (and its values' region) before
            // a program can find it.
            foreach (var registry in Registries())
            {
                registry.Add(map);
            }

            bySpan[key] = map;
            return MapStatus.Success;
        }
    }

    /// <summary>Puts <paramref name="map"/> at index <paramref name="index"/> (or u32 key).</summary>
    /// <exception cref="ArgumentException">The map's keys are not 4 bytes, or the map does not match the template.</exception>
    public MapStatus Set(uint index, BpfMap map, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, index);
        return Set(key, map, flags);
    }

    /// <summary>The inner map at <paramref name="key"/>, or null.</summary>
    /// <exception cref="ArgumentException">The key has the wrong size.</exception>
    public BpfMap? Get(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        lock (gate)
        {
            return bySpan.TryGetValue(key, out var map) ? map : null;
        }
    }

    /// <summary>The inner map at index <paramref name="index"/> (or u32 key), or null.</summary>
    public BpfMap? Get(uint index)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, index);
        return Get(key);
    }

    /// <summary>Called by <see cref="MapRegistry.Add"/>: registers the inner maps there now and whenever one is set.</summary>
    internal void Attach(MapRegistry registry)
    {
        BpfMap[] current;
        lock (gate)
        {
            registries.Add(new WeakReference<MapRegistry>(registry));
            current = [.. inner.Values];
        }

        foreach (var map in current)
        {
            registry.Add(map);
        }
    }

    /// <summary>Programs get inner maps as handles through the helpers (see <see cref="Ebpf.Helpers.LinuxHelpers"/>), never addresses: always 0.</summary>
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu) => 0;

    private List<MapRegistry> Registries()
    {
        registries.RemoveAll(r => !r.TryGetTarget(out _));
        return registries.Select(r => r.TryGetTarget(out var registry) ? registry : null).OfType<MapRegistry>().ToList();
    }

    /// <inheritdoc />
    protected override bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        var map = Get(key);
        if (map is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(value, map.Id);
        }

        return map is not null;
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) => MapStatus.InvalidArgument;

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            return bySpan.Remove(key) ? MapStatus.Success : MapStatus.NotFound;
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            return inner
                .OrderBy(e => e.Key, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
                .Select(e => new KeyValuePair<byte[], byte[]>(e.Key.ToArray(), BitConverter.GetBytes(e.Value.Id)))
                .ToArray();
        }
    }
}
