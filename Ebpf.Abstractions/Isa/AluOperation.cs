namespace Ebpf.Isa;

/// <summary>The operation of an ALU or ALU64 instruction: the high four bits of the opcode.</summary>
public enum AluOperation : byte
{
    /// <summary><c>dst += src</c>.</summary>
    Add = 0x00,
    /// <summary><c>dst -= src</c>.</summary>
    Sub = 0x10,
    /// <summary><c>dst *= src</c>.</summary>
    Mul = 0x20,
    /// <summary>Unsigned division (offset 0) or signed division <c>sdiv</c> (offset 1).</summary>
    Div = 0x30,
    /// <summary><c>dst |= src</c>.</summary>
    Or = 0x40,
    /// <summary><c>dst &amp;= src</c>.</summary>
    And = 0x50,
    /// <summary>Left shift, count masked to the operand width.</summary>
    Lsh = 0x60,
    /// <summary>Logical right shift, count masked to the operand width.</summary>
    Rsh = 0x70,
    /// <summary><c>dst = -dst</c>.</summary>
    Neg = 0x80,
    /// <summary>Unsigned modulo (offset 0) or signed modulo <c>smod</c> (offset 1).</summary>
    Mod = 0x90,
    /// <summary><c>dst ^= src</c>.</summary>
    Xor = 0xa0,
    /// <summary><c>dst = src</c>, or <c>movsx</c> with offset 8, 16 or 32.</summary>
    Mov = 0xb0,
    /// <summary>Arithmetic (sign-extending) right shift.</summary>
    Arsh = 0xc0,
    /// <summary>Byte swap: <c>le</c>/<c>be</c> in class ALU, <c>bswap</c> in class ALU64.</summary>
    End = 0xd0,
}
