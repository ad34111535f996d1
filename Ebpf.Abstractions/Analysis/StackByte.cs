namespace Ebpf.Analysis;

/// <summary>What the safety analysis knows about one byte of a stack frame.</summary>
public enum StackByte : byte
{
    /// <summary>Never written: reading it is an error.</summary>
    Uninitialized,
    /// <summary>Written with some number.</summary>
    Data,
    /// <summary>Part of an 8-byte aligned slot that holds a spilled register (its value is tracked).</summary>
    Spill,
    /// <summary>Perhaps written: a store at an offset known only as a range may have hit it (reading it is unproven, not an error).</summary>
    MaybeData,
}
