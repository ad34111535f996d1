namespace Ebpf.Building;

/// <summary>The source width of a sign-extending move (<c>movsx</c>), carried in the offset.</summary>
public enum SignExtension : short
{
    /// <summary>Sign-extend the low 8 bits.</summary>
    FromByte = 8,
    /// <summary>Sign-extend the low 16 bits.</summary>
    FromHalfWord = 16,
    /// <summary>Sign-extend the low 32 bits (64-bit <c>movsx</c> only).</summary>
    FromWord = 32,
}
