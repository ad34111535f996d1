namespace Ebpf;

/// <summary>What a region of memory a program may touch is.</summary>
public enum MemoryRegionKind : int
{
    /// <summary>The run's stack frames.</summary>
    Stack,
    /// <summary>The memory given to the run (packet data; r1 points at it when there is no metadata buffer).</summary>
    Input,
    /// <summary>The metadata buffer (rbpf's mbuff; r1 points at it when given).</summary>
    Metadata,
    /// <summary>The value storage of a map (or global data).</summary>
    MapValue,
    /// <summary>A range the user allowed explicitly.</summary>
    Allowed,
}
