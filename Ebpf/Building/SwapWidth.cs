namespace Ebpf.Building;

/// <summary>The width of a byte swap (<c>le</c>, <c>be</c>, <c>bswap</c>), carried in the immediate.</summary>
public enum SwapWidth
{
    /// <summary>The low 16 bits (the result is zero-extended).</summary>
    Bits16 = 16,
    /// <summary>The low 32 bits (the result is zero-extended).</summary>
    Bits32 = 32,
    /// <summary>All 64 bits.</summary>
    Bits64 = 64,
}
