using System.Buffers.Binary;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_ARRAY</c> and <c>BPF_MAP_TYPE_PERCPU_ARRAY</c>: the key is a u32 index below
/// <see cref="BpfMap.MaxEntries"/>; every entry exists from the start (zeroed) and cannot be deleted. Values are
/// updated in place, without locking (as in Linux: programs use atomic instructions on the values when runs are
/// concurrent). A per-CPU array holds <see cref="BpfMap.Cpus"/> values per entry: a program sees its run's CPU's value,
/// the host API reads and writes all of them (<see cref="BpfMap.HostValueSize"/>).
/// </summary>
public unsafe class ArrayMap : BpfMap
{
    /// <summary>Creates an array map (or a per-CPU array map).</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not an array.</exception>
    public ArrayMap(MapDefinition definition)
        : base(definition, BpfMapType.Array, BpfMapType.PerCpuArray)
    {
    }

    /// <summary>Creates an array map of <paramref name="maxEntries"/> values of <paramref name="valueSize"/> bytes.</summary>
    public ArrayMap(string name, uint valueSize, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.Array, 4, valueSize, maxEntries))
    {
    }

    /// <summary>Creates an array-shaped map of one of <paramref name="types"/> (for derived maps).</summary>
    /// <exception cref="ArgumentException">The definition is invalid or of another type.</exception>
    protected ArrayMap(MapDefinition definition, params ReadOnlySpan<BpfMapType> types)
        : base(definition, types)
    {
    }

    /// <summary>Every index, in order: made once and shared (its callers only read it).</summary>
    private int[]? indexes;

    /// <inheritdoc />
    internal override int[]? IterationSlots() => KeyRegion.Length == 0 ? null : indexes ??= Enumerable.Range(0, MaxEntries).ToArray();

    /// <inheritdoc />
    public override int Count => MaxEntries;

    /// <summary>The value of entry <paramref name="index"/> (of CPU 0 for a per-CPU map) as a span over the map's memory (no copy).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is beyond the capacity.</exception>
    public Span<byte> GetValueSpan(uint index) => GetValueSpan(index, 0);

    /// <summary>The value of CPU <paramref name="cpu"/> of entry <paramref name="index"/> as a span over the map's memory (no copy).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is beyond the capacity, or the CPU is not one of the map's.</exception>
    public Span<byte> GetValueSpan(uint index, int cpu)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, (uint)MaxEntries);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)cpu, (uint)Cpus, nameof(cpu));
        return new Span<byte>(SlotAddress((int)index, cpu), ValueSize);
    }

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        cpu = Definition.IsPerCpu ? cpu : 0;
        return index < (uint)MaxEntries && (uint)cpu < (uint)Cpus && !IsDisposed ? (ulong)SlotAddress((int)index, cpu) : 0;
    }

    /// <summary>
    /// What <c>bpf_map_lookup_elem</c> on this array computes for a program running on CPU <paramref name="cpu"/>, for
    /// engines that compile the call inline (see <see cref="Helpers.Helper.InlineLookup"/>); null when the CPU is not one
    /// of the map's or the map is disposed (the call then runs). The inline code compares keys against the map's live
    /// entry count, which <see cref="BpfMap.Dispose()"/> sets to 0, so a program compiled with it finds nothing after
    /// the map is disposed, as the helper does.
    /// </summary>
    internal Helpers.ArrayLookup? InlineLookup(int cpu)
    {
        cpu = Definition.IsPerCpu ? cpu : 0;
        return IsDisposed || (uint)cpu >= (uint)Cpus || Type is not (BpfMapType.Array or BpfMapType.PerCpuArray) ? null
            : new Helpers.ArrayLookup((ulong)SlotAddress(0, cpu), Definition.ValueStride * (ulong)Cpus, LiveEntriesAddress);
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= (uint)MaxEntries)
        {
            return MapStatus.TooBig;
        }

        if (flags == MapUpdateFlags.NoExist)
        {
            return MapStatus.Exists;
        }

        WriteSlot((int)index, value, cpu);
        return MapStatus.Success;
    }

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key) => MapStatus.InvalidArgument;

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        var entries = new KeyValuePair<byte[], byte[]>[MaxEntries];
        for (int i = 0; i < entries.Length; i++)
        {
            var key = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(key, (uint)i);
            entries[i] = new(key, ReadSlot(i));
        }

        return entries;
    }
}
