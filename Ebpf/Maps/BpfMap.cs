using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ebpf.Maps;

/// <summary>
/// A map programs and the host share. Values live in native memory allocated once per map, at fixed addresses for
/// the map's lifetime, so a pointer a program obtains from <c>bpf_map_lookup_elem</c> stays valid (and inside
/// <see cref="ValueRegion"/>, the region the map registers in an environment). Every operation is thread-safe and
/// may run concurrently with programs, <see cref="Dispose()"/> included: after it, lookups find nothing and host
/// operations throw <see cref="ObjectDisposedException"/>, but the value memory of a map registered in an environment
/// is released only by the finalizer, once nothing refers to the map any more (a running program holds its compiled
/// program, hence its environment and the map), so a value pointer a program still holds never points into freed or
/// reused memory.
/// </summary>
public abstract unsafe class BpfMap : IDisposable
{
    private static int lastId;
    private byte* storage;
    private int disposed;
    private int shared;
    private long deferredPressure;

    /// <summary>Creates the map and its zeroed value storage (<see cref="MapDefinition.StorageBytes"/>).</summary>
    /// <param name="definition">The definition.</param>
    /// <param name="expectedTypes">The map types the derived class implements.</param>
    /// <exception cref="ArgumentException">The definition is invalid or of another map type.</exception>
    protected BpfMap(MapDefinition definition, params ReadOnlySpan<BpfMapType> expectedTypes)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!expectedTypes.Contains(definition.Type))
        {
            throw new ArgumentException($"map '{definition.Name}' has type {definition.Type}, not {string.Join(" or ", expectedTypes.ToArray())}", nameof(definition));
        }

        if (definition.Validate() is { } problem)
        {
            throw new ArgumentException($"map '{definition.Name}': {problem}", nameof(definition));
        }

        Definition = definition;
        Id = (uint)Interlocked.Increment(ref lastId);
        Cpus = definition.ValuesPerEntry;
        StorageBytes = definition.StorageBytes;
        ulong keyBytes = definition.KeyStorageBytes;
        if (StorageBytes != 0)
        {
            // The keys of an iterable map follow the values in the same allocation (freed with it), then the live
            // entry count (see LiveEntriesAddress).
            storage = (byte*)NativeMemory.AlignedAlloc((nuint)(StorageBytes + keyBytes + sizeof(ulong)), 8);
            NativeMemory.Clear(storage, (nuint)(StorageBytes + keyBytes));
            *(ulong*)(storage + StorageBytes + keyBytes) = (ulong)MaxEntries;
            ValueRegion = new MemoryRegion((ulong)storage, StorageBytes, MemoryRegionKind.MapValue, !definition.IsReadOnlyForPrograms);
            if (keyBytes != 0)
            {
                KeyRegion = new MemoryRegion((ulong)storage + StorageBytes, keyBytes, MemoryRegionKind.MapValue, writable: false);
                if (definition.Type is BpfMapType.Array or BpfMapType.PerCpuArray)
                {
                    // An array's keys are its indexes, present from the start.
                    for (int i = 0; i < MaxEntries; i++)
                    {
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(KeyAddress(i), 4), (uint)i);
                    }
                }
            }
        }
    }

    /// <summary>Finalizer: releases what the map holds if it was not disposed.</summary>
    ~BpfMap()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Dispose(false);
        }

        Free();
        if (deferredPressure != 0)
        {
            GC.RemoveMemoryPressure(deferredPressure);
        }
    }

    /// <summary>The definition the map was created from.</summary>
    public MapDefinition Definition { get; }

    /// <summary>A number unique to this map in the process (as Linux's map id; what a map of maps reports for its inner maps).</summary>
    public uint Id { get; }

    /// <summary>The map's name.</summary>
    public string Name => Definition.Name;

    /// <summary>The map type.</summary>
    public BpfMapType Type => Definition.Type;

    /// <summary>The key size in bytes.</summary>
    public int KeySize => (int)Definition.KeySize;

    /// <summary>The value size in bytes.</summary>
    public int ValueSize => (int)Definition.ValueSize;

    /// <summary>The capacity.</summary>
    public int MaxEntries => (int)Definition.MaxEntries;

    /// <summary>
    /// The number of values per entry: the possible CPUs of a per-CPU map (<see cref="MapDefinition.PossibleCpus"/>),
    /// otherwise 1.
    /// </summary>
    public int Cpus { get; }

    /// <summary>
    /// The size of a value as the host API reads and writes it: <see cref="ValueSize"/>, or for a per-CPU map one value
    /// per CPU, each at a multiple of <see cref="MapDefinition.ValueStride"/> (<c>ncpus * round_up(value_size, 8)</c>,
    /// the layout of Linux's <c>bpf()</c> syscall).
    /// </summary>
    public int HostValueSize => Definition.IsPerCpu ? (int)Definition.ValueStride * Cpus : ValueSize;

    /// <summary>The memory holding the values (empty when programs never point into the map): the region programs may touch.</summary>
    public MemoryRegion ValueRegion { get; }

    /// <summary>
    /// For a map whose entries programs may visit (<see cref="MapDefinition.IsIterable"/>): the read-only copy of each
    /// entry's key a <c>bpf_for_each_map_elem</c> callback's key pointer points into (registered in an environment
    /// with <see cref="ValueRegion"/>); empty for other maps.
    /// </summary>
    public MemoryRegion KeyRegion { get; }

    /// <summary>The number of entries present.</summary>
    public abstract int Count { get; }

    /// <summary>True once disposed.</summary>
    protected bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>The size of the value storage in bytes.</summary>
    protected ulong StorageBytes { get; }

    /// <summary>The address of value slot <paramref name="slot"/> (of its first CPU's value for a per-CPU map).</summary>
    protected byte* SlotAddress(int slot) => storage + ((ulong)slot * Definition.ValueStride * (ulong)Cpus);

    /// <summary>The address of the value of CPU <paramref name="cpu"/> in slot <paramref name="slot"/> (cpu 0 unless per-CPU).</summary>
    protected byte* SlotAddress(int slot, int cpu) => SlotAddress(slot) + ((ulong)cpu * Definition.ValueStride);

    /// <summary>The address of the key copy of slot <paramref name="slot"/> (only for an iterable map, see <see cref="KeyRegion"/>).</summary>
    protected byte* KeyAddress(int slot) => storage + StorageBytes + ((ulong)slot * (ulong)KeySize);

    /// <summary>
    /// The slots whose entries <c>bpf_for_each_map_elem</c> visits, in visiting order, or null when programs cannot
    /// iterate this map. A slot's key copy is at <see cref="KeyRegion"/> + slot * <see cref="KeySize"/>. The array may be
    /// shared between calls: callers only read it.
    /// </summary>
    internal virtual int[]? IterationSlots() => null;

    /// <summary>True while slot <paramref name="slot"/> holds an entry (an entry deleted during an iteration is skipped).</summary>
    internal virtual bool IsLive(int slot) => !IsDisposed;

    /// <summary>The address a program sees for the key of slot <paramref name="slot"/> (see <see cref="KeyRegion"/>).</summary>
    internal ulong IterationKey(int slot) => (ulong)KeyAddress(slot);

    /// <summary>The address a program running on CPU <paramref name="cpu"/> sees for the value of slot <paramref name="slot"/>.</summary>
    internal ulong IterationValue(int slot, int cpu) => (ulong)SlotAddress(slot, Definition.IsPerCpu ? cpu : 0);

    /// <summary>
    /// The address of a 64-bit word in the map's storage that holds <see cref="MaxEntries"/> while the map lives and 0
    /// once it is disposed (0 when the map has no storage): inline lookups compare keys against it, so that they find
    /// nothing after <see cref="Dispose()"/>, as the helper does. It lives as long as the value storage.
    /// </summary>
    internal ulong LiveEntriesAddress => storage == null ? 0 : (ulong)(storage + StorageBytes + Definition.KeyStorageBytes);

    /// <summary>The start of the value storage.</summary>
    protected byte* Storage => storage;

    /// <summary>Creates a map of the definition's type.</summary>
    /// <exception cref="ArgumentException">The definition is invalid.</exception>
    public static BpfMap Create(MapDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.Type switch
        {
            BpfMapType.Array or BpfMapType.PerCpuArray => new ArrayMap(definition),
            BpfMapType.Hash or BpfMapType.PerCpuHash or BpfMapType.LruHash or BpfMapType.LruPerCpuHash => new HashMap(definition),
            BpfMapType.ProgramArray => new ProgramArrayMap(definition),
            BpfMapType.LpmTrie => new LpmTrieMap(definition),
            BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps => new MapOfMaps(definition),
            BpfMapType.Queue or BpfMapType.Stack => new QueueMap(definition),
            BpfMapType.RingBuffer => new RingBufferMap(definition),
            BpfMapType.DevMap or BpfMapType.CpuMap or BpfMapType.XskMap or BpfMapType.DevMapHash => new RedirectMap(definition),
            _ => throw new ArgumentException($"map '{definition.Name}': {definition.Validate()}", nameof(definition)),
        };
    }

    /// <summary>
    /// Copies the value of <paramref name="key"/> into <paramref name="value"/> (<see cref="HostValueSize"/> bytes: every
    /// CPU's value for a per-CPU map); false when the key is absent.
    /// </summary>
    /// <exception cref="ArgumentException">The key or the destination has the wrong size.</exception>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckValue(value.Length, nameof(value));
        return TryCopyValue(key, value);
    }

    /// <summary>A copy of the value of <paramref name="key"/> (<see cref="HostValueSize"/> bytes), or null when the key is absent.</summary>
    public byte[]? Lookup(ReadOnlySpan<byte> key)
    {
        var value = new byte[HostValueSize];
        return TryLookup(key, value) ? value : null;
    }

    /// <summary>
    /// Creates or replaces an entry, as the <c>bpf()</c> syscall does: <paramref name="value"/> has
    /// <see cref="HostValueSize"/> bytes (every CPU's value for a per-CPU map).
    /// </summary>
    /// <exception cref="ArgumentException">The key or the value has the wrong size.</exception>
    public MapStatus Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckKey(key);
        CheckValue(value.Length, nameof(value));
        return (ulong)flags > (ulong)MapUpdateFlags.Exist ? MapStatus.InvalidArgument : UpdateCore(key, value, flags, -1);
    }

    /// <summary>
    /// Creates or replaces an entry as <c>bpf_map_update_elem</c> called by a program on CPU <paramref name="cpu"/>
    /// does: <paramref name="value"/> has <see cref="ValueSize"/> bytes; a per-CPU map changes only that CPU's value
    /// (a new entry starts with the other CPUs' values zeroed).
    /// </summary>
    /// <exception cref="ArgumentException">The key or the value has the wrong size.</exception>
    public MapStatus UpdateFromProgram(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        CheckKey(key);
        if (value.Length != ValueSize)
        {
            throw new ArgumentException($"map '{Name}' has {ValueSize}-byte values, {value.Length} bytes given", nameof(value));
        }

        return (ulong)flags > (ulong)MapUpdateFlags.Exist ? MapStatus.InvalidArgument
            : Definition.IsPerCpu && (uint)cpu >= (uint)Cpus ? MapStatus.InvalidArgument
            : UpdateCore(key, value, flags, Definition.IsPerCpu ? cpu : -1);
    }

    /// <summary>Deletes an entry, as <c>bpf_map_delete_elem</c> does.</summary>
    /// <exception cref="ArgumentException">The key has the wrong size.</exception>
    public MapStatus Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return DeleteCore(key);
    }

    /// <summary>A snapshot of the entries (keys and copies of their values), in a stable order.</summary>
    public IReadOnlyList<KeyValuePair<byte[], byte[]>> GetEntries()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return SnapshotEntries();
    }

    /// <summary>Looks up a value with typed key and value (their sizes must equal the map's).</summary>
    public bool TryLookup<TKey, TValue>(TKey key, out TValue value)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        value = default;
        return TryLookup(AsBytes(ref key), AsBytes(ref value));
    }

    /// <summary>Creates or replaces an entry with typed key and value (their sizes must equal the map's).</summary>
    public MapStatus Update<TKey, TValue>(TKey key, TValue value, MapUpdateFlags flags = MapUpdateFlags.Any)
        where TKey : unmanaged
        where TValue : unmanaged =>
        Update(AsBytes(ref key), AsBytes(ref value), flags);

    /// <summary>Deletes an entry with a typed key.</summary>
    public MapStatus Delete<TKey>(TKey key)
        where TKey : unmanaged =>
        Delete(AsBytes(ref key));

    /// <summary>A snapshot of the entries with typed keys and values (their sizes must equal the map's).</summary>
    public IReadOnlyList<KeyValuePair<TKey, TValue>> GetEntries<TKey, TValue>()
        where TKey : unmanaged
        where TValue : unmanaged
    {
        CheckSize<TKey>(KeySize, "key");
        CheckSize<TValue>(HostValueSize, "value");
        return GetEntries()
            .Select(e => new KeyValuePair<TKey, TValue>(MemoryMarshal.Read<TKey>(e.Key), MemoryMarshal.Read<TValue>(e.Value)))
            .ToArray();
    }

    /// <summary>
    /// The address of the value of <paramref name="key"/> inside <see cref="ValueRegion"/>, or 0 when absent: what
    /// <c>bpf_map_lookup_elem</c> returns to a program (on CPU 0 for a per-CPU map). The key must have
    /// <see cref="KeySize"/> bytes.
    /// </summary>
    public ulong LookupValueAddress(ReadOnlySpan<byte> key) => LookupValueAddress(key, 0);

    /// <summary>
    /// The address of the value of <paramref name="key"/> that a program running on CPU <paramref name="cpu"/> sees
    /// (its CPU's value for a per-CPU map; 0 when the CPU is not one of the map's), or 0 when absent. The key must have
    /// <see cref="KeySize"/> bytes.
    /// </summary>
    public abstract ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu);

    /// <summary>Copies the value of a present key (<see cref="HostValueSize"/> bytes); false when absent. Sizes are already checked.</summary>
    protected virtual bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        ulong address = LookupValueAddress(key, 0);
        if (address == 0)
        {
            return false;
        }

        new ReadOnlySpan<byte>((void*)address, value.Length).CopyTo(value);
        return true;
    }

    /// <summary>
    /// Creates or replaces an entry. Sizes and flags are already checked. <paramref name="cpu"/> is -1 for the host API
    /// (<paramref name="value"/> has <see cref="HostValueSize"/> bytes), or for a per-CPU map the CPU of the calling
    /// program (<paramref name="value"/> has <see cref="ValueSize"/> bytes).
    /// </summary>
    protected abstract MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu);

    /// <summary>Deletes an entry. The key size is already checked.</summary>
    protected abstract MapStatus DeleteCore(ReadOnlySpan<byte> key);

    /// <summary>The entries now.</summary>
    protected abstract IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries();

    /// <summary>
    /// Writes slot <paramref name="slot"/>: with <paramref name="cpu"/> -1 the host value (every CPU's value of a
    /// per-CPU map), otherwise that CPU's value only (the other CPUs' values are zeroed first when
    /// <paramref name="fresh"/>, for a new entry). The padding after each value is zeroed.
    /// </summary>
    protected void WriteSlot(int slot, ReadOnlySpan<byte> value, int cpu = -1, bool fresh = false)
    {
        int stride = (int)Definition.ValueStride;
        if (fresh && cpu >= 0)
        {
            new Span<byte>(SlotAddress(slot), stride * Cpus).Clear();
        }

        for (int c = cpu < 0 ? 0 : cpu; c < (cpu < 0 ? Cpus : cpu + 1); c++)
        {
            var destination = new Span<byte>(SlotAddress(slot, c), stride);
            var source = cpu < 0 && Definition.IsPerCpu ? value.Slice(c * stride, ValueSize) : value;
            source.CopyTo(destination);
            destination[source.Length..].Clear();
        }
    }

    /// <summary>A copy of the host value in slot <paramref name="slot"/> (<see cref="HostValueSize"/> bytes).</summary>
    protected byte[] ReadSlot(int slot) => new ReadOnlySpan<byte>(SlotAddress(slot), HostValueSize).ToArray();

    /// <summary>
    /// Stops the map: later lookups find nothing and host operations throw. The value storage is released now when
    /// the map was never registered in an environment, else by the finalizer once nothing refers to the map (see the
    /// class remarks), so programs still running with it never touch freed memory.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            if (storage != null)
            {
                Volatile.Write(ref *(ulong*)LiveEntriesAddress, 0UL);
            }

            Dispose(true);
            if (Volatile.Read(ref shared) == 0)
            {
                Free();
                GC.SuppressFinalize(this);
            }
            else if (StorageBytes != 0)
            {
                // The collector does not see native memory: tell it what waits for the finalizer.
                deferredPressure = (long)StorageBytes;
                GC.AddMemoryPressure(deferredPressure);
            }
        }
    }

    /// <summary>Called when an environment registers the map: from then on programs may hold pointers into its values.</summary>
    internal void MarkShared() => Volatile.Write(ref shared, 1);

    /// <summary>Releases what a derived map holds. Called once, from <see cref="Dispose()"/> or the finalizer.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name} ({Type}, key {KeySize} B, value {ValueSize} B, {Count}/{MaxEntries} entries)";

    /// <summary>Throws when disposed or when the key has the wrong size.</summary>
    protected void CheckKey(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"map '{Name}' has {KeySize}-byte keys, {key.Length} bytes given", nameof(key));
        }
    }

    private void CheckValue(int length, string paramName)
    {
        if (length != HostValueSize)
        {
            throw new ArgumentException($"map '{Name}' has {HostValueSize}-byte values{(Definition.IsPerCpu ? $" ({Cpus} CPUs of {Definition.ValueStride} bytes)" : string.Empty)}, {length} bytes given", paramName);
        }
    }

    private static void CheckSize<T>(int expected, string what)
        where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() != expected)
        {
            throw new ArgumentException($"{typeof(T).Name} has {Unsafe.SizeOf<T>()} bytes, the map's {what} has {expected}");
        }
    }

    private static Span<byte> AsBytes<T>(ref T item)
        where T : unmanaged => MemoryMarshal.AsBytes(new Span<T>(ref item));

    private void Free()
    {
        var pointer = storage;
        storage = null;
        if (pointer != null)
        {
            NativeMemory.AlignedFree(pointer);
        }
    }
}
