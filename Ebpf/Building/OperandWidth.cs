namespace Ebpf.Building;

/// <summary>The width of an ALU operation (class ALU64 or ALU) or of a jump comparison (class JMP or JMP32).</summary>
public enum OperandWidth
{
    /// <summary>64-bit operands (classes ALU64 and JMP).</summary>
    Bits64 = 0,
    /// <summary>32-bit operands (classes ALU and JMP32); ALU results are zero-extended.</summary>
    Bits32 = 1,
}
