namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_HASH</c>: up to <see cref="BpfMap.MaxEntries"/> entries with keys of <see cref="BpfMap.KeySize"/>
/// bytes. Each entry's value has its own slot in the map's storage from insertion until deletion; a deleted entry's
/// slot is reused by a later insertion (a program still holding the old pointer then sees the new entry, but never
/// memory outside the map). Operations take a short lock.
/// </summary>
public sealed class HashMap : BpfMap
{
    private readonly object gate = new();
    private readonly Dictionary<byte[], int> slots = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> bySpan;
    private readonly Stack<int> free;

    /// <summary>Creates a hash map.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a hash map.</exception>
    public HashMap(MapDefinition definition)
        : base(definition, BpfMapType.Hash)
    {
        bySpan = slots.GetAlternateLookup<ReadOnlySpan<byte>>();
        free = new Stack<int>(Enumerable.Range(0, MaxEntries).Reverse());
    }

    /// <summary>Creates a hash map with the given key and value sizes and capacity.</summary>
    public HashMap(string name, uint keySize, uint valueSize, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.Hash, keySize, valueSize, maxEntries))
    {
    }

    /// <inheritdoc />
    public override int Count
    {
        get
        {
            lock (gate)
            {
                return slots.Count;
            }
        }
    }

    /// <inheritdoc />
    public override unsafe ulong LookupValueAddress(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            return !IsDisposed && bySpan.TryGetValue(key, out int slot) ? (ulong)SlotAddress(slot) : 0;
        }
    }

    /// <inheritdoc />
    protected override unsafe bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        lock (gate)
        {
            if (!bySpan.TryGetValue(key, out int slot))
            {
                return false;
            }

            new ReadOnlySpan<byte>(SlotAddress(slot), ValueSize).CopyTo(value);
            return true;
        }
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (bySpan.TryGetValue(key, out int slot))
            {
                if (flags == MapUpdateFlags.NoExist)
                {
                    return MapStatus.Exists;
                }

                WriteSlot(slot, value);
                return MapStatus.Success;
            }

            if (flags == MapUpdateFlags.Exist)
            {
                return MapStatus.NotFound;
            }

            if (!free.TryPop(out slot))
            {
                return MapStatus.TooBig;
            }

            WriteSlot(slot, value);
            bySpan[key] = slot;
            return MapStatus.Success;
        }
    }

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            if (!bySpan.Remove(key, out _, out int slot))
            {
                return MapStatus.NotFound;
            }

            free.Push(slot);
            return MapStatus.Success;
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            return slots
                .OrderBy(e => e.Value)
                .Select(e => new KeyValuePair<byte[], byte[]>(e.Key.ToArray(), ReadSlot(e.Value)))
                .ToArray();
        }
    }
}
