using System.Buffers.Binary;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_LPM_TRIE</c>: longest-prefix match. A key is a little-endian u32 prefix length followed by
/// <c>KeySize - 4</c> data bytes (e.g. an IPv4 address in network order); only the first prefix-length bits of the data
/// count. A lookup (by a program or the host) returns the entry with the longest prefix that matches the first
/// prefix-length bits of the key's data; an update or a delete names an entry exactly by its prefix. As in Linux the map
/// needs <see cref="MapDefinition.NoPreallocFlag"/>, a prefix longer than the data is <c>-EINVAL</c> and a full trie
/// <c>-ENOSPC</c>. Stored keys keep only their prefix bits (the rest are zeroed).
/// </summary>
public sealed class LpmTrieMap : HashMap
{
    private readonly object gate = new();
    private readonly int[] prefixes;
    private readonly Dictionary<byte[], byte[]> givenKeys = new(ByteKeyComparer.Instance);

    /// <summary>Creates an LPM trie.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not an LPM trie.</exception>
    public LpmTrieMap(MapDefinition definition)
        : base(definition, BpfMapType.LpmTrie)
    {
        prefixes = new int[DataBits + 1];
    }

    /// <summary>The number of data bits of a key: the longest prefix.</summary>
    public int DataBits => (KeySize - 4) * 8;

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu)
    {
        Span<byte> candidate = stackalloc byte[KeySize];
        lock (gate)
        {
            for (int length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(key), (uint)DataBits); length >= 0; length--)
            {
                if (prefixes[length] != 0)
                {
                    Normalize(key, length, candidate);
                    ulong address = base.LookupValueAddress(candidate, cpu);
                    if (address != 0)
                    {
                        return address;
                    }
                }
            }

            return 0;
        }
    }

    /// <inheritdoc />
    protected override unsafe bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        lock (gate)
        {
            ulong address = LookupValueAddress(key, 0);
            if (address == 0)
            {
                return false;
            }

            new ReadOnlySpan<byte>((void*)address, value.Length).CopyTo(value);
            return true;
        }
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (length > (uint)DataBits)
        {
            return MapStatus.InvalidArgument;
        }

        Span<byte> normal = stackalloc byte[KeySize];
        Normalize(key, (int)length, normal);
        lock (gate)
        {
            int before = Count;
            var status = base.UpdateCore(normal, value, flags, cpu);
            prefixes[length] += Count - before;
            if (status == MapStatus.Success)
            {
                givenKeys[normal.ToArray()] = key.ToArray();
            }

            return status == MapStatus.TooBig ? MapStatus.NoSpace : status;
        }
    }

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (length > (uint)DataBits)
        {
            return MapStatus.InvalidArgument;
        }

        Span<byte> normal = stackalloc byte[KeySize];
        Normalize(key, (int)length, normal);
        lock (gate)
        {
            var status = base.DeleteCore(normal);
            if (status == MapStatus.Success)
            {
                prefixes[length]--;
                givenKeys.Remove(normal.ToArray());
            }

            return status;
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            return base.SnapshotEntries()
                .Select(e => new KeyValuePair<byte[], byte[]>(givenKeys.TryGetValue(e.Key, out var given) ? given.ToArray() : e.Key, e.Value))
                .ToArray();
        }
    }

    /// <summary>Writes to <paramref name="destination"/> the key of prefix <paramref name="length"/> with the data bits after the prefix zeroed.</summary>
    private static void Normalize(ReadOnlySpan<byte> key, int length, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)length);
        var data = destination[4..];
        key[4..].CopyTo(data);
        int full = length / 8;
        if (full < data.Length)
        {
            data[full] &= (byte)(0xff00 >> (length % 8));
            data[(full + 1)..].Clear();
        }
    }
}
