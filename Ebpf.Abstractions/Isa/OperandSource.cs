namespace Ebpf.Isa;

/// <summary>The source bit of ALU and JMP opcodes (bit 3).</summary>
public enum OperandSource : byte
{
    /// <summary>The source operand is the 32-bit immediate (<c>BPF_K</c>).</summary>
    Immediate = 0x00,
    /// <summary>The source operand is the <c>src</c> register (<c>BPF_X</c>).</summary>
    Register = 0x08,
}
