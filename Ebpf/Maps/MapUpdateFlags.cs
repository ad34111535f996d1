using System.Diagnostics.CodeAnalysis;

namespace Ebpf.Maps;

/// <summary>The flags of an update, as in Linux (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>).</summary>
[SuppressMessage("Naming", "CA1711", Justification = "Named after the flags argument of Linux's bpf_map_update_elem, whose values it mirrors.")]
public enum MapUpdateFlags : ulong
{
    /// <summary><c>BPF_ANY</c>: create the entry or replace its value.</summary>
    Any = 0,

    /// <summary><c>BPF_NOEXIST</c>: create the entry only if the key is absent.</summary>
    NoExist = 1,

    /// <summary><c>BPF_EXIST</c>: replace the value only if the key is present.</summary>
    Exist = 2,
}
