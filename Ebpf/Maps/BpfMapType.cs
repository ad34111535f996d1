namespace Ebpf.Maps;

/// <summary>The map types this library implements, numbered as in Linux (<c>enum bpf_map_type</c>).</summary>
public enum BpfMapType : uint
{
    /// <summary><c>BPF_MAP_TYPE_HASH</c>: keys of any size, up to <see cref="MapDefinition.MaxEntries"/> entries.</summary>
    Hash = 1,

    /// <summary><c>BPF_MAP_TYPE_ARRAY</c>: a u32 index as key, every entry exists and starts zeroed.</summary>
    Array = 2,

    /// <summary><c>BPF_MAP_TYPE_PROG_ARRAY</c>: u32 index to a program, the targets of <c>bpf_tail_call</c>.</summary>
    ProgramArray = 3,

    /// <summary><c>BPF_MAP_TYPE_PERCPU_HASH</c>: a hash map with one value per possible CPU.</summary>
    PerCpuHash = 5,

    /// <summary><c>BPF_MAP_TYPE_PERCPU_ARRAY</c>: an array map with one value per possible CPU.</summary>
    PerCpuArray = 6,

    /// <summary><c>BPF_MAP_TYPE_LRU_HASH</c>: a hash map that evicts its least recently used entry when full.</summary>
    LruHash = 9,

    /// <summary><c>BPF_MAP_TYPE_LRU_PERCPU_HASH</c>: an LRU hash map with one value per possible CPU.</summary>
    LruPerCpuHash = 10,

    /// <summary><c>BPF_MAP_TYPE_LPM_TRIE</c>: longest-prefix match; the key is a u32 prefix length and the data.</summary>
    LpmTrie = 11,

    /// <summary><c>BPF_MAP_TYPE_ARRAY_OF_MAPS</c>: u32 index to an inner map.</summary>
    ArrayOfMaps = 12,

    /// <summary><c>BPF_MAP_TYPE_HASH_OF_MAPS</c>: key to an inner map.</summary>
    HashOfMaps = 13,

    /// <summary><c>BPF_MAP_TYPE_DEVMAP</c>: u32 index to a network device (ifindex), a target of <c>bpf_redirect_map</c>.</summary>
    DevMap = 14,

    /// <summary><c>BPF_MAP_TYPE_CPUMAP</c>: u32 CPU to a queue size, a target of <c>bpf_redirect_map</c>.</summary>
    CpuMap = 16,

    /// <summary><c>BPF_MAP_TYPE_XSKMAP</c>: u32 queue index to an AF_XDP socket, a target of <c>bpf_redirect_map</c>.</summary>
    XskMap = 17,

    /// <summary><c>BPF_MAP_TYPE_QUEUE</c>: a FIFO of values (no key): push, pop, peek.</summary>
    Queue = 22,

    /// <summary><c>BPF_MAP_TYPE_STACK</c>: a LIFO of values (no key): push, pop, peek.</summary>
    Stack = 23,

    /// <summary><c>BPF_MAP_TYPE_DEVMAP_HASH</c>: u32 key to a network device (ifindex), a target of <c>bpf_redirect_map</c>.</summary>
    DevMapHash = 25,

    /// <summary><c>BPF_MAP_TYPE_RINGBUF</c>: a ring buffer of variable-size records that programs produce and the host consumes.</summary>
    RingBuffer = 27,
}
