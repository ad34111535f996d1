namespace Ebpf.Isa;

/// <summary>The operand fields of an instruction slot, as a set (e.g. the fields an operation leaves unused).</summary>
[Flags]
public enum InstructionFields
{
    /// <summary>No field.</summary>
    None = 0,
    /// <summary>The destination register field.</summary>
    Dst = 1,
    /// <summary>The source register field.</summary>
    Src = 2,
    /// <summary>The 16-bit offset field.</summary>
    Offset = 4,
    /// <summary>The 32-bit immediate field.</summary>
    Imm = 8,
}
