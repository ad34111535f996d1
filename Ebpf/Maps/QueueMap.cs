namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_QUEUE</c> (first in, first out) and <c>BPF_MAP_TYPE_STACK</c> (last in, first out): up to
/// <see cref="BpfMap.MaxEntries"/> values and no key (<see cref="BpfMap.KeySize"/> is 0). Programs use
/// <c>bpf_map_push_elem</c>, <c>bpf_map_pop_elem</c> and <c>bpf_map_peek_elem</c>, which copy values, so programs never
/// point into the map. On the byte-level host API, <see cref="BpfMap.Update(ReadOnlySpan{byte}, ReadOnlySpan{byte}, MapUpdateFlags)"/>
/// pushes, <see cref="BpfMap.TryLookup(ReadOnlySpan{byte}, Span{byte})"/> peeks and delete is <c>-EINVAL</c>, as in Linux.
/// Operations take a short lock.
/// </summary>
public sealed class QueueMap : BpfMap
{
    private readonly object gate = new();
    private readonly byte[][] values;
    private int first;
    private int count;

    /// <summary>Creates a queue or a stack.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a queue or stack.</exception>
    public QueueMap(MapDefinition definition)
        : base(definition, BpfMapType.Queue, BpfMapType.Stack)
    {
        values = new byte[MaxEntries][];
    }

    /// <summary>True for a stack (last in, first out), false for a queue.</summary>
    public bool IsStack => Type == BpfMapType.Stack;

    /// <inheritdoc />
    public override int Count
    {
        get
        {
            lock (gate)
            {
                return count;
            }
        }
    }

    /// <summary>
    /// Adds a value, as <c>bpf_map_push_elem</c> does: when the map is full, <see cref="MapUpdateFlags.Exist"/>
    /// (<c>BPF_EXIST</c>) drops the oldest value to make room, otherwise the push fails with <c>-E2BIG</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The value has the wrong size.</exception>
    public MapStatus Push(ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any) => Update([], value, flags);

    /// <summary>Removes the next value (the oldest of a queue, the newest of a stack) into <paramref name="value"/>; false when empty.</summary>
    /// <exception cref="ArgumentException">The destination has the wrong size.</exception>
    public bool TryPop(Span<byte> value) => Take(value, remove: true);

    /// <summary>Copies the next value (the oldest of a queue, the newest of a stack) into <paramref name="value"/> without removing it; false when empty.</summary>
    /// <exception cref="ArgumentException">The destination has the wrong size.</exception>
    public bool TryPeek(Span<byte> value) => Take(value, remove: false);

    /// <summary>Programs never point into a queue or a stack: always 0.</summary>
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu) => 0;

    /// <inheritdoc />
    protected override bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value) => Take(value, remove: false);

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        if (flags == MapUpdateFlags.NoExist)
        {
            return MapStatus.InvalidArgument;
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (count == values.Length)
            {
                if (flags != MapUpdateFlags.Exist)
                {
                    return MapStatus.TooBig;
                }

                first = (first + 1) % values.Length;
                count--;
            }

            values[(first + count) % values.Length] = value.ToArray();
            count++;
            return MapStatus.Success;
        }
    }

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key) => MapStatus.InvalidArgument;

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            var entries = new KeyValuePair<byte[], byte[]>[count];
            for (int i = 0; i < count; i++)
            {
                int index = IsStack ? first + count - 1 - i : first + i;
                entries[i] = new([], values[index % values.Length].ToArray());
            }

            return entries;
        }
    }

    private bool Take(Span<byte> value, bool remove)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (value.Length != ValueSize)
        {
            throw new ArgumentException($"map '{Name}' has {ValueSize}-byte values, {value.Length} bytes given", nameof(value));
        }

        lock (gate)
        {
            if (count == 0)
            {
                return false;
            }

            int index = (IsStack ? first + count - 1 : first) % values.Length;
            values[index].CopyTo(value);
            if (remove)
            {
                values[index] = [];
                first = IsStack ? first : (first + 1) % values.Length;
                count--;
            }

            return true;
        }
    }
}
