using Ebpf.Isa;

namespace Ebpf;

/// <summary>An access outside every region the run may touch (the program's or a helper's on its behalf).</summary>
public sealed class EbpfMemoryAccessException : EbpfRuntimeException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="pc">The slot of the failing instruction.</param>
    /// <param name="instruction">The failing instruction.</param>
    /// <param name="address">The first byte of the access.</param>
    /// <param name="size">The number of bytes of the access.</param>
    /// <param name="access">Read or write.</param>
    /// <param name="regions">A description of the regions the run could touch.</param>
    public EbpfMemoryAccessException(int pc, Instruction instruction, ulong address, ulong size, MemoryAccessKind access, string regions)
        : base(
            RuntimeErrorKind.MemoryAccessViolation,
            pc,
            instruction,
            $"memory access violation: {(access == MemoryAccessKind.Write ? "write" : "read")} of {size} byte(s) at 0x{address:x} is outside the allowed regions [{regions}]")
    {
        Address = address;
        Size = size;
        Access = access;
        Regions = regions;
    }

    /// <summary>The first byte of the access.</summary>
    public ulong Address { get; }

    /// <summary>The number of bytes of the access.</summary>
    public ulong Size { get; }

    /// <summary>Read or write.</summary>
    public MemoryAccessKind Access { get; }

    /// <summary>A description of the regions the run could touch.</summary>
    public string Regions { get; }
}
