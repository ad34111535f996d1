namespace Ebpf.Execution;

/// <summary>
/// The byte layout of <see cref="MemoryRegion"/>, which generated code reads straight from the pinned region table
/// (<see cref="RunState.Regions"/>): the IL engine with <c>ldind</c> at these offsets, the x64 engine with memory operands.
/// <see cref="MemoryRegion"/> is declared with these offsets, so the struct and both JITs cannot drift apart.
/// </summary>
internal static class MemoryRegionLayout
{
    /// <summary>The first byte of the region (<c>ulong</c>).</summary>
    public const int AddressOffset = 0;

    /// <summary>The number of bytes (<c>ulong</c>).</summary>
    public const int LengthOffset = 8;

    /// <summary>The <see cref="MemoryRegionKind"/> (<c>int</c>).</summary>
    public const int KindOffset = 16;

    /// <summary>1 when writable, 0 when read-only (<c>int</c>).</summary>
    public const int WritableOffset = 20;

    /// <summary>The size of one table entry.</summary>
    public const int Size = 24;
}
