namespace Ebpf.Verification;

/// <summary>The operand fields of an instruction slot, as a set (for the "unused fields must be 0" rules).</summary>
[Flags]
internal enum InstructionFields
{
    None = 0,
    Dst = 1,
    Src = 2,
    Offset = 4,
    Imm = 8,
}
