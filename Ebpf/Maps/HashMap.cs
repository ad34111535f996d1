using System.Runtime.CompilerServices;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_HASH</c>, <c>BPF_MAP_TYPE_PERCPU_HASH</c>, <c>BPF_MAP_TYPE_LRU_HASH</c> and
/// <c>BPF_MAP_TYPE_LRU_PERCPU_HASH</c>: up to <see cref="BpfMap.MaxEntries"/> entries with keys of
/// <see cref="BpfMap.KeySize"/> bytes. Each entry's value has its own slot in the map's storage from insertion until
/// deletion; a deleted entry's slot is reused by a later insertion (a program still holding the old pointer then sees
/// the new entry, but never memory outside the map). Updates, deletions and host operations take a short lock; a
/// program's lookup in a plain or per-CPU hash map takes none (see <see cref="HashSlotIndex"/>): it walks the key index
/// and retries when an update overlapped it, so it never returns the value of another key than the one looked up; nor
/// does one in an LRU map that misses or finds the most recently used entry (see the remarks).
/// </summary>
/// <remarks>
/// <para>The LRU types never fail an insertion for lack of room: a full map evicts its least recently used entry, where
/// a use is an insertion, an update (by a program or the host) or a program's lookup; host lookups do not count, as with
/// Linux's <c>bpf()</c> syscall. This is exact LRU order, so a program's lookup in an LRU map takes the lock to move its
/// entry to the front, unless the lookup misses or finds the most recently used entry, whose use changes no order (it
/// then takes no lock, as a plain map's lookup); Linux's LRU maps
/// approximate it (per-CPU free lists, batched eviction), so the kernel may evict a different entry, or evict before the
/// map is full.</para>
/// <para>The per-CPU types hold <see cref="BpfMap.Cpus"/> values per entry: a program sees and updates its run's CPU's
/// value (a new entry created by a program starts with the other CPUs' values zeroed); the host API reads and writes
/// all of them (<see cref="BpfMap.HostValueSize"/>).</para>
/// </remarks>
public unsafe class HashMap : BpfMap
{
    private readonly object gate = new();
    private readonly HashSlotIndex index;
    private readonly Stack<int> free;
    private readonly bool lru;
    private readonly int[] newer;
    private readonly int[] older;

    /// <summary>Whether each slot holds an entry (written under <see cref="gate"/>; read without it by <see cref="IsLive"/>).</summary>
    private readonly bool[] live;

    /// <summary>
    /// The most recently used slot of an LRU map (-1 when empty), alone in a pinned array so that an engine's walk in
    /// machine code can read it where it is (see <see cref="NativeLayout"/>); written under <see cref="gate"/>.
    /// </summary>
    private readonly int[] newestSlot = GC.AllocateArray<int>(1, pinned: true);
    private int count;
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
        index = new HashSlotIndex(MaxEntries, KeySize);
        free = new Stack<int>(Enumerable.Range(0, MaxEntries).Reverse());
        lru = definition.Type is BpfMapType.LruHash or BpfMapType.LruPerCpuHash;
        newer = lru ? new int[MaxEntries] : [];
        older = lru ? new int[MaxEntries] : [];
        live = new bool[MaxEntries];
        newestSlot[0] = -1;
    }

    /// <summary>The most recently used slot of an LRU map, or -1 (see <see cref="newestSlot"/>).</summary>
    private ref int Newest => ref newestSlot[0];

    /// <inheritdoc />
    public override int Count => Volatile.Read(ref count);

    /// <summary>
    /// The keys from the least to the most recently used (LRU types; for other types the insertion order is not kept
    /// and the keys come in slot order).
    /// </summary>
    public IReadOnlyList<byte[]> KeysByAge()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            var keys = new List<byte[]>(count);
            if (!lru)
            {
                foreach (int slot in LiveSlots())
                {
                    keys.Add(index.KeyOf(slot));
                }

                return keys;
            }

            for (int slot = oldest; slot >= 0; slot = newer[slot])
            {
                keys.Add(index.KeyOf(slot));
            }

            return keys;
        }
    }

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu) => ProgramLookup(key, cpu);

    /// <summary>
    /// What <c>bpf_map_lookup_elem</c> on this map computes for a program running on CPU <paramref name="cpu"/>, for
    /// the engines that call it directly (see <see cref="Helpers.Helper.DirectLookup"/>): <see cref="LookupValueAddress"/>
    /// itself, without the helper's call path. Null for a derived map (it may look up otherwise: the helper is called).
    /// </summary>
    internal Helpers.DirectLookup? DirectLookup(int cpu) => GetType() == typeof(HashMap) ? new Direct(this, cpu) : null;

    /// <summary>
    /// Where a program's lookup on CPU <paramref name="cpu"/> reads (see <see cref="Helpers.DirectLookup.Layout"/>), with
    /// the LRU types' most recently used slot (a walk that finds another slot leaves the lookup to
    /// <see cref="ProgramLookup"/>, which moves its entry under the lock, as <see cref="HashSlotIndex.FindNewest"/>
    /// decides): null for a CPU the map has not, a disposed map or keys of other sizes than 4 and 8 bytes.
    /// </summary>
    private Helpers.HashLookupLayout? NativeLayout(int cpu)
    {
        cpu = Definition.IsPerCpu ? cpu : 0;
        return IsDisposed || Storage == null || (uint)cpu >= (uint)Cpus
            ? null
            : index.Layout(
                (nint)LiveEntriesAddress,
                (nint)SlotAddress(0, cpu),
                (long)Definition.ValueStride * Cpus,
                lru ? (nint)Unsafe.AsPointer(ref Newest) : 0);
    }

    /// <summary>The lookup of a program on CPU <paramref name="cpu"/>: <see cref="LookupValueAddress"/>, not virtual.</summary>
    private unsafe ulong ProgramLookup(ReadOnlySpan<byte> key, int cpu)
    {
        cpu = Definition.IsPerCpu ? cpu : 0;
        if (IsDisposed || (uint)cpu >= (uint)Cpus || key.Length != KeySize)
        {
            return 0;
        }

        uint hash = index.Hash(key);
        int slot = lru ? index.FindNewest(key, hash, ref Newest) : index.Find(key, hash);
        if (slot == HashSlotIndex.Contended)
        {
            lock (gate)
            {
                slot = index.FindLocked(key, hash);
                if (slot >= 0)
                {
                    Touch(slot);
                }
            }
        }

        return slot < 0 ? 0 : (ulong)SlotAddress(slot, cpu);
    }

    /// <inheritdoc />
    protected override unsafe bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        lock (gate)
        {
            int slot = index.FindLocked(key, index.Hash(key));
            if (slot < 0)
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
        uint hash = index.Hash(key);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            int slot = index.FindLocked(key, hash);
            if (slot >= 0)
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

            index.BeginWrite();
            try
            {
                if (!free.TryPop(out slot))
                {
                    if (!lru)
                    {
                        return MapStatus.TooBig;
                    }

                    slot = oldest;
                    Unlink(slot);
                    index.Remove(slot);
                    count--;
                }

                WriteSlot(slot, value, cpu, fresh: true);
                index.Insert(slot, key, hash);
                count++;
                Volatile.Write(ref live[slot], true);
                if (KeyRegion.Length != 0)
                {
                    key.CopyTo(new Span<byte>(KeyAddress(slot), KeySize));
                }

                if (lru)
                {
                    LinkNewest(slot);
                }

                return MapStatus.Success;
            }
            finally
            {
                index.EndWrite();
            }
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
            return LiveSlots();
        }
    }

    /// <inheritdoc />
    internal override bool IsLive(int slot) => !IsDisposed && Volatile.Read(ref live[slot]);

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key)
    {
        uint hash = index.Hash(key);
        lock (gate)
        {
            int slot = index.FindLocked(key, hash);
            if (slot < 0)
            {
                return MapStatus.NotFound;
            }

            index.BeginWrite();
            index.Remove(slot);
            count--;
            Volatile.Write(ref live[slot], false);
            if (lru)
            {
                Unlink(slot);
            }

            free.Push(slot);
            index.EndWrite();
            return MapStatus.Success;
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            return LiveSlots()
                .Select(slot => new KeyValuePair<byte[], byte[]>(index.KeyOf(slot), ReadSlot(slot)))
                .ToArray();
        }
    }

    /// <summary>The slots holding entries, in slot order (under <see cref="gate"/>).</summary>
    private int[] LiveSlots()
    {
        var slots = new int[count];
        int n = 0;
        for (int slot = 0; slot < live.Length && n < slots.Length; slot++)
        {
            if (live[slot])
            {
                slots[n++] = slot;
            }
        }

        return slots;
    }

    private void Touch(int slot)
    {
        if (lru && slot != Newest)
        {
            Unlink(slot);
            LinkNewest(slot);
        }
    }

    private void LinkNewest(int slot)
    {
        ref int newest = ref Newest;
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
            Newest = before;
        }
    }

    /// <summary>A program's lookups in one map on one CPU, called directly (see <see cref="DirectLookup(int)"/>).</summary>
    private sealed class Direct(HashMap map, int cpu) : Helpers.DirectLookup(map.KeySize)
    {
        public override ulong Find(ReadOnlySpan<byte> key) => map.ProgramLookup(key, cpu);

        public override Helpers.HashLookupLayout? Layout => map.NativeLayout(cpu);
    }
}
