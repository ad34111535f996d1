using System.Buffers.Binary;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_ARRAY</c>: the key is a u32 index below <see cref="BpfMap.MaxEntries"/>; every entry exists from
/// the start (zeroed) and cannot be deleted. Values are updated in place, without locking (as in Linux: programs use
/// atomic instructions on the values when runs are concurrent).
/// </summary>
public sealed unsafe class ArrayMap : BpfMap
{
    /// <summary>Creates an array map.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not an array.</exception>
    public ArrayMap(MapDefinition definition)
        : base(definition, BpfMapType.Array)
    {
    }

    /// <summary>Creates an array map of <paramref name="maxEntries"/> values of <paramref name="valueSize"/> bytes.</summary>
    public ArrayMap(string name, uint valueSize, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.Array, 4, valueSize, maxEntries))
    {
    }

    /// <inheritdoc />
    public override int Count => MaxEntries;

    /// <summary>The value of entry <paramref name="index"/> as a span over the map's memory (no copy).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is beyond the capacity.</exception>
    public Span<byte> GetValueSpan(uint index)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, (uint)MaxEntries);
        return new Span<byte>(SlotAddress((int)index), ValueSize);
    }

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        return index < (uint)MaxEntries && !IsDisposed ? (ulong)SlotAddress((int)index) : 0;
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags)
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

        WriteSlot((int)index, value);
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
