using System.Runtime.InteropServices;
using Ebpf.Execution;

namespace Ebpf;

/// <summary>
/// A range of host memory a program may touch: <c>[Address, Address + Length)</c>. Blittable with an explicit layout,
/// because the JIT engines' generated code reads tables of regions directly.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = MemoryRegionLayout.Size)]
public readonly struct MemoryRegion : IEquatable<MemoryRegion>
{
    [FieldOffset(MemoryRegionLayout.AddressOffset)]
    private readonly ulong address;

    [FieldOffset(MemoryRegionLayout.LengthOffset)]
    private readonly ulong length;

    [FieldOffset(MemoryRegionLayout.KindOffset)]
    private readonly MemoryRegionKind kind;

    [FieldOffset(MemoryRegionLayout.WritableOffset)]
    private readonly int writable;

    /// <summary>Creates a region.</summary>
    /// <param name="address">The first byte.</param>
    /// <param name="length">The number of bytes.</param>
    /// <param name="kind">What the region is.</param>
    /// <param name="writable">False for read-only memory (e.g. <c>.rodata</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The range wraps around the end of the address space.</exception>
    public MemoryRegion(ulong address, ulong length, MemoryRegionKind kind, bool writable = true)
    {
        if (address + length < address)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"region 0x{address:x} + {length} wraps around the address space");
        }

        this.address = address;
        this.length = length;
        this.kind = kind;
        this.writable = writable ? 1 : 0;
    }

    /// <summary>The first byte.</summary>
    public ulong Address => address;

    /// <summary>The number of bytes.</summary>
    public ulong Length => length;

    /// <summary>What the region is.</summary>
    public MemoryRegionKind Kind => kind;

    /// <summary>1 when the region may be written, 0 when read-only (an int to keep the struct blittable for native code).</summary>
    public int Writable => writable;

    /// <summary>One past the last byte.</summary>
    public ulong End => Address + Length;

    /// <summary>True when all of <c>[address, address + size)</c> lies inside this region (overflow-safe) and, for writes, the region is writable.</summary>
    public bool Allows(ulong address, ulong size, MemoryAccessKind access) =>
        Contains(address, size) && (access == MemoryAccessKind.Read || Writable != 0);

    /// <summary>True when all of <c>[address, address + size)</c> lies inside this region. Overflow-safe.</summary>
    public bool Contains(ulong address, ulong size) =>
        address >= Address && size <= Length && address - Address <= Length - size;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Kind.ToString().ToLowerInvariant()} 0x{Address:x}..0x{End:x}{(Writable != 0 ? string.Empty : " (read-only)")}";

    /// <inheritdoc />
    public bool Equals(MemoryRegion other) =>
        Address == other.Address && Length == other.Length && Kind == other.Kind && Writable == other.Writable;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MemoryRegion other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Address, Length, Kind, Writable);

    /// <summary>Compares two regions.</summary>
    public static bool operator ==(MemoryRegion left, MemoryRegion right) => left.Equals(right);

    /// <summary>Compares two regions.</summary>
    public static bool operator !=(MemoryRegion left, MemoryRegion right) => !left.Equals(right);
}
