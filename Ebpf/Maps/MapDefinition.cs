namespace Ebpf.Maps;

/// <summary>
/// The shape of a map: what <c>struct bpf_map_def</c> or a BTF-defined map declares. Sizes are in bytes.
/// </summary>
/// <param name="Name">The map's name (the ELF symbol, or a data section such as <c>.bss</c>).</param>
/// <param name="Type">The map type.</param>
/// <param name="KeySize">The key size (4 for arrays and program arrays; 0 for queues, stacks and ring buffers).</param>
/// <param name="ValueSize">The value size (4 for program arrays and maps of maps; 0 for ring buffers).</param>
/// <param name="MaxEntries">The capacity (for a ring buffer: its size in bytes, a power of 2 and a multiple of 4096).</param>
/// <param name="Flags">The Linux map flags (e.g. <see cref="ReadOnlyProgramFlag"/>).</param>
public sealed record MapDefinition(string Name, BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags = 0)
{
    /// <summary><c>BPF_F_NO_PREALLOC</c>: required by LPM tries (as in Linux), accepted and ignored by hash maps.</summary>
    public const uint NoPreallocFlag = 1u << 0;

    /// <summary><c>BPF_F_RDONLY_PROG</c>: programs may read the values but not write them (used for <c>.rodata</c>).</summary>
    public const uint ReadOnlyProgramFlag = 1u << 8;

    /// <summary><c>BPF_F_INNER_MAP</c>: on an inner-map template, inner maps may have any <c>max_entries</c>.</summary>
    public const uint InnerMapFlag = 1u << 12;

    /// <summary>The largest value size accepted (1 MiB, a guard against absurd definitions in hostile files).</summary>
    public const uint MaxValueSize = 1u << 20;

    /// <summary>The largest key size accepted (as in Linux, <c>MAX_BPF_STACK</c> = 512).</summary>
    public const uint MaxKeySize = 512;

    /// <summary>The largest data part of an LPM trie key (as in Linux, <c>LPM_DATA_SIZE_MAX</c> = 256).</summary>
    public const uint MaxLpmDataSize = 256;

    /// <summary>The most bytes of value storage one map may take (256 MiB).</summary>
    public const ulong MaxStorageBytes = 256ul << 20;

    /// <summary>The most possible CPUs a per-CPU map may have (as in Linux, <c>NR_CPUS</c> = 8192 at most).</summary>
    public const int MaxCpus = 8192;

    private const uint RingBufferPage = 4096;

    /// <summary>
    /// For per-CPU maps: the number of possible CPUs (one value each); 0, the default, means
    /// <see cref="Environment.ProcessorCount"/>. Ignored by other map types.
    /// </summary>
    public int PossibleCpus { get; init; }

    /// <summary>For <see cref="BpfMapType.ArrayOfMaps"/> and <see cref="BpfMapType.HashOfMaps"/>: the template every inner map must match.</summary>
    public MapDefinition? InnerMap { get; init; }

    /// <summary>True when programs may not write the values (<see cref="ReadOnlyProgramFlag"/>).</summary>
    public bool IsReadOnlyForPrograms => (Flags & ReadOnlyProgramFlag) != 0;

    /// <summary>True for the per-CPU types (<see cref="BpfMapType.PerCpuArray"/>, <see cref="BpfMapType.PerCpuHash"/>, <see cref="BpfMapType.LruPerCpuHash"/>).</summary>
    public bool IsPerCpu => Type is BpfMapType.PerCpuArray or BpfMapType.PerCpuHash or BpfMapType.LruPerCpuHash;

    /// <summary>The number of values per entry: <see cref="PossibleCpus"/> (resolved) for per-CPU maps, otherwise 1.</summary>
    public int ValuesPerEntry => !IsPerCpu ? 1 : PossibleCpus == 0 ? Environment.ProcessorCount : PossibleCpus;

    /// <summary>The bytes between two consecutive values in storage: the value size rounded up to 8, as in Linux.</summary>
    public ulong ValueStride => ((ulong)ValueSize + 7) & ~7ul;

    /// <summary>
    /// The bytes of native memory the map allocates for the values programs may point into: 0 for program arrays,
    /// maps of maps, queues and stacks (programs never get pointers into them), twice the size for a ring buffer
    /// (so that a record that wraps stays contiguous), otherwise one slot of <see cref="ValueStride"/> per value.
    /// </summary>
    public ulong StorageBytes => Type switch
    {
        BpfMapType.ProgramArray or BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps or BpfMapType.Queue or BpfMapType.Stack => 0,
        BpfMapType.RingBuffer => 2ul * MaxEntries,
        _ => ValueStride * MaxEntries * (ulong)ValuesPerEntry,
    };

    /// <summary>
    /// True for the map types whose entries a program may visit with <c>bpf_for_each_map_elem</c> (as in Linux: array,
    /// per-CPU array, hash, per-CPU hash, LRU hash, LRU per-CPU hash).
    /// </summary>
    public bool IsIterable => Type is BpfMapType.Array or BpfMapType.PerCpuArray or BpfMapType.Hash or BpfMapType.PerCpuHash
        or BpfMapType.LruHash or BpfMapType.LruPerCpuHash;

    /// <summary>
    /// The bytes of native memory after the values that hold a read-only copy of each slot's key, where a
    /// <c>bpf_for_each_map_elem</c> callback's key pointer points: <see cref="KeySize"/> per entry (rounded up to 8 in
    /// all) for an iterable map (<see cref="IsIterable"/>), else 0.
    /// </summary>
    public ulong KeyStorageBytes => IsIterable ? (((ulong)KeySize * MaxEntries) + 7) & ~7ul : 0;

    /// <summary>The reason this definition cannot be created, or null when it is valid.</summary>
    public string? Validate()
    {
        if (MaxEntries == 0)
        {
            return "max_entries must not be 0";
        }

        if (IsPerCpu && (PossibleCpus < 0 || PossibleCpus > MaxCpus))
        {
            return $"the number of possible CPUs must be 1 to {MaxCpus}, not {PossibleCpus}";
        }

        string? problem = Type switch
        {
            BpfMapType.Array or BpfMapType.PerCpuArray => Sizes(4, null),
            BpfMapType.ProgramArray => KeySize != 4 || ValueSize != 4 ? $"a program array needs 4-byte keys and values, not {KeySize} and {ValueSize}" : null,
            BpfMapType.Hash or BpfMapType.PerCpuHash or BpfMapType.LruHash or BpfMapType.LruPerCpuHash => AnyKey(),
            BpfMapType.LpmTrie => Lpm(),
            BpfMapType.ArrayOfMaps => Sizes(4, 4) ?? Inner(),
            BpfMapType.HashOfMaps => AnyKey() ?? Sizes(null, 4) ?? Inner(),
            BpfMapType.DevMap or BpfMapType.DevMapHash or BpfMapType.CpuMap => Sizes(4, null) ?? (ValueSize is 4 or 8 ? null : $"a {Type} map needs 4- or 8-byte values, not {ValueSize}"),
            BpfMapType.XskMap => Sizes(4, 4),
            BpfMapType.Queue or BpfMapType.Stack => Sizes(0, null),
            BpfMapType.RingBuffer => Ring(),
            _ => $"map type {(uint)Type} is not supported (supported: {string.Join(", ", Enum.GetValues<BpfMapType>().Select(t => $"{t} {(uint)t}"))})",
        };
        if (problem is not null)
        {
            return problem;
        }

        if (Type != BpfMapType.RingBuffer && (ValueSize == 0 || ValueSize > MaxValueSize))
        {
            return $"the value size must be 1 to {MaxValueSize} bytes, not {ValueSize}";
        }

        if (Type is BpfMapType.Queue or BpfMapType.Stack && ValueStride * MaxEntries > MaxStorageBytes)
        {
            return $"{MaxEntries} values of {ValueSize} bytes exceed the {MaxStorageBytes >> 20} MiB limit";
        }

        return StorageBytes > MaxStorageBytes
            ? $"{MaxEntries} entries of {ValueSize} bytes{(IsPerCpu ? $" on {ValuesPerEntry} CPUs" : string.Empty)} exceed the {MaxStorageBytes >> 20} MiB limit"
            : null;
    }

    private string? Sizes(uint? key, uint? value) =>
        key is { } k && KeySize != k ? $"a {Type} map needs a {k}-byte key, not {KeySize}"
        : value is { } v && ValueSize != v ? $"a {Type} map needs a {v}-byte value, not {ValueSize}"
        : null;

    private string? AnyKey() =>
        KeySize == 0 || KeySize > MaxKeySize ? $"a {Type} map needs a key of 1 to {MaxKeySize} bytes, not {KeySize}" : null;

    private string? Lpm() =>
        KeySize <= 4 || KeySize > 4 + MaxLpmDataSize ? $"an LPM trie needs a key of a u32 prefix length and 1 to {MaxLpmDataSize} data bytes, not {KeySize} bytes"
        : (Flags & NoPreallocFlag) == 0 ? "an LPM trie must be created with BPF_F_NO_PREALLOC (map_flags 1), as in Linux"
        : null;

    private string? Inner()
    {
        if (InnerMap is null)
        {
            return $"a {Type} map needs an inner map template (BTF __array(values, ...), or MapDefinition.InnerMap)";
        }

        if (InnerMap.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps or BpfMapType.ProgramArray)
        {
            return $"the inner maps of a {Type} map cannot be {InnerMap.Type} maps";
        }

        return InnerMap.Validate() is { } inner ? $"inner map template: {inner}" : null;
    }

    private string? Ring() =>
        KeySize != 0 || ValueSize != 0 ? $"a ring buffer has no key or value size (0), not {KeySize} and {ValueSize}"
        : MaxEntries < RingBufferPage || (MaxEntries & (MaxEntries - 1)) != 0 ? $"a ring buffer's size (max_entries) must be a power of 2 of at least {RingBufferPage}, not {MaxEntries}"
        : null;
}
