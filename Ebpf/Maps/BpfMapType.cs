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
}
