namespace Ebpf.Maps;

/// <summary>The flags of an update, as in Linux (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>).</summary>
public enum MapUpdateFlags : ulong
{
    /// <summary><c>BPF_ANY</c>: create the entry or replace its value.</summary>
    Any = 0,

    /// <summary><c>BPF_NOEXIST</c>: create the entry only if the key is absent.</summary>
    NoExist = 1,

    /// <summary><c>BPF_EXIST</c>: replace the value only if the key is present.</summary>
    Exist = 2,
}
