namespace Ebpf.Diagnostics;

/// <summary>What a store (or atomic) instruction wrote: where, how many bytes, and the value there afterwards.</summary>
/// <param name="Address">The first byte written.</param>
/// <param name="Size">The number of bytes (1, 2, 4 or 8).</param>
/// <param name="Value">The little-endian value of those bytes after the instruction.</param>
public readonly record struct MemoryWrite(ulong Address, int Size, ulong Value)
{
    /// <inheritdoc />
    public override string ToString() => $"[0x{Address:x}] ({Size} bytes) = 0x{Value:x}";
}
