namespace Ebpf.Maps;

/// <summary>The outcome of a map operation; the values are the (negative) Linux error numbers helpers return.</summary>
public enum MapStatus
{
    /// <summary>The operation succeeded.</summary>
    Success = 0,

    /// <summary><c>-ENOENT</c>: the key is absent (update with <see cref="MapUpdateFlags.Exist"/>, delete).</summary>
    NotFound = -2,

    /// <summary><c>-E2BIG</c>: the map is full, or an array index is beyond <see cref="MapDefinition.MaxEntries"/>.</summary>
    TooBig = -7,

    /// <summary><c>-EAGAIN</c>: a ring buffer has no room for the record.</summary>
    TryAgain = -11,

    /// <summary><c>-EEXIST</c>: the key is present (update with <see cref="MapUpdateFlags.NoExist"/>).</summary>
    Exists = -17,

    /// <summary><c>-EINVAL</c>: unknown flags, or an operation the map type does not support (e.g. deleting from an array).</summary>
    InvalidArgument = -22,

    /// <summary><c>-ENOSPC</c>: an LPM trie is full.</summary>
    NoSpace = -28,
}
