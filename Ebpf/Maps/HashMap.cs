namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_HASH</c>, <c>BPF_MAP_TYPE_PERCPU_HASH</c>, <c>BPF_MAP_TYPE_LRU_HASH</c> and
/// <c>BPF_MAP_TYPE_LRU_PERCPU_HASH</c>: up to <see cref="BpfMap.MaxEntries"/> entries with keys of
/// <see cref="BpfMap.KeySize"/> bytes. Each entry's value has its own slot in the map's storage from insertion until
/// deletion; a deleted entry's slot is reused by a later insertion (a program still holding the old pointer then sees
/// the new entry, but never memory outside the map). Operations take a short lock.
/// </summary>
/// <remarks>
/// <para>The LRU types never fail an insertion for lack of room: a full map evicts its least recently used entry, where
/// a use is an insertion, an update (by a program or the host) or a program's lookup; host lookups do not count, as with
/// Linux's <c>bpf()</c> syscall. This is exact LRU order; Linux's LRU maps
/// approximate it (per-CPU free lists, batched eviction), so the kernel may evict a different entry, or evict before the
/// map is full.</para>
/// <para>The per-CPU types hold <see cref="BpfMap.Cpus"/> values per entry: a program sees and updates its run's CPU's
/// value (a new entry created by a program starts with the other CPUs' values zeroed); the host API reads and writes
/// all of them (<see cref="BpfMap.HostValueSize"/>).</para>
/// </remarks>
public unsafe class HashMap : BpfMap
{
    private readonly object gate = new();
    private readonly Dictionary<byte[], int> slots = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> bySpan;
    private readonly Stack<int> free;
    private readonly bool lru;
    private readonly byte[]?[] keyOfSlot;
    private readonly int[] newer;
    private readonly int[] older;

    /// <summary>Whether each slot holds an entry (written under <see cref="gate"/>; read without it by <see cref="IsLive"/>).</summary>
    private readonly bool[] live;
    private int newest = -1;
    private int oldest = -1;

    /// <summary>Creates a hash map (plain, per-CPU, LRU or LRU per-CPU, by the definition's type).</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a hash map.</exception>
    public HashMap(MapDefinition definition)
        : this(definition, BpfMapType.Hash, BpfMapType.PerCpuHash, BpfMapType.LruHash, BpfMapType.LruPerCpuHash)
    {
    }

    /// <summary>Creates a hash map with the given key and value sizes and capacity.</summary>
    public HashMap(string name, uint keySize, uint valueSize, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.Hash, keySize, valueSize, maxEntries))
    {
    }

    /// <summary>Creates a hash-shaped map of one of <paramref name="types"/> (for derived maps).</summary>
    /// <exception cref="ArgumentException">The definition is invalid or of another type.</exception>
    protected HashMap(MapDefinition definition, params ReadOnlySpan<BpfMapType> types)
        : base(definition, types)
    {
        bySpan = slots.GetAlternateLookup<ReadOnlySpan<byte>>();
        free = new Stack<int>(Enumerable.Range(0, MaxEntries).Reverse());
        lru = definition.Type is BpfMapType.LruHash or BpfMapType.LruPerCpuHash;
        keyOfSlot = lru ? new byte[MaxEntries][] : [];
        newer = lru ? new int[MaxEntries] : [];
        older = lru ? new int[MaxEntries] : [];
        live = new bool[MaxEntries];
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

    /// <summary>
    /// The keys from the least to the most recently used (LRU types; for other types the insertion order is not kept
    /// and the keys come in slot order).
    /// </summary>
    public IReadOnlyList<byte[]> KeysByAge()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (!lru)
            {
                return slots.OrderBy(e => e.Value).Select(e => e.Key.ToArray()).ToArray();
            }

            var keys = new List<byte[]>(slots.Count);
            for (int slot = oldest; slot >= 0; slot = newer[slot])
            {
                keys.Add(keyOfSlot[slot]!.ToArray());
            }

            return keys;
        }
    }

    /// <inheritdoc />
    public override unsafe ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu)
    {
        cpu = Definition.IsPerCpu ? cpu : 0;
        lock (gate)
        {
            if (IsDisposed || (uint)cpu >= (uint)Cpus || !bySpan.TryGetValue(key, out int slot))
            {
                return 0;
            }

            Touch(slot);
            return (ulong)SlotAddress(slot, cpu);
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

            new ReadOnlySpan<byte>(SlotAddress(slot), value.Length).CopyTo(value);
            return true;
        }
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
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

                WriteSlot(slot, value, cpu);
                Touch(slot);
                return MapStatus.Success;
            }

            if (flags == MapUpdateFlags.Exist)
            {
                return MapStatus.NotFound;
            }

            if (!free.TryPop(out slot))
            {
                if (!lru)
                {
                    return MapStatus.TooBig;
                }

                slot = oldest;
                Unlink(slot);
                slots.Remove(keyOfSlot[slot]!);
            }

            WriteSlot(slot, value, cpu, fresh: true);
            byte[] stored = key.ToArray();
            slots[stored] = slot;
            Volatile.Write(ref live[slot], true);
            if (KeyRegion.Length != 0)
            {
                stored.CopyTo(new Span<byte>(KeyAddress(slot), KeySize));
            }

            if (lru)
            {
                keyOfSlot[slot] = stored;
                LinkNewest(slot);
            }

            return MapStatus.Success;
        }
    }

    /// <inheritdoc />
    internal override int[]? IterationSlots()
    {
        if (KeyRegion.Length == 0)
        {
            return null;
        }

        lock (gate)
        {
            return [.. slots.Values];
        }
    }

    /// <inheritdoc />
    internal override bool IsLive(int slot) => !IsDisposed && Volatile.Read(ref live[slot]);

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            if (!bySpan.Remove(key, out _, out int slot))
            {
                return MapStatus.NotFound;
            }

            Volatile.Write(ref live[slot], false);

            if (lru)
            {
                Unlink(slot);
                keyOfSlot[slot] = null;
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

    private void Touch(int slot)
    {
        if (lru && slot != newest)
        {
            Unlink(slot);
            LinkNewest(slot);
        }
    }

    private void LinkNewest(int slot)
    {
        older[slot] = newest;
        newer[slot] = -1;
        if (newest >= 0)
        {
            newer[newest] = slot;
        }

        newest = slot;
        if (oldest < 0)
        {
            oldest = slot;
        }
    }

    private void Unlink(int slot)
    {
        int before = older[slot], after = newer[slot];
        if (before >= 0)
        {
            newer[before] = after;
        }
        else
        {
            oldest = after;
        }

        if (after >= 0)
        {
            older[after] = before;
        }
        else
        {
            newest = before;
        }
    }
}
