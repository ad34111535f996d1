namespace Ebpf;

/// <summary>Whether an access reads or writes memory.</summary>
public enum MemoryAccessKind
{
    /// <summary>A load.</summary>
    Read,
    /// <summary>A store (atomics count as writes).</summary>
    Write,
}
