namespace Ebpf.Isa;

/// <summary>The instruction class: the low three bits of the opcode (RFC 9669, section 3.1).</summary>
public enum InstructionClass : byte
{
    /// <summary>Non-standard load operations: <c>lddw</c> and the legacy packet loads.</summary>
    Ld = 0x00,
    /// <summary>Load into a register from memory.</summary>
    Ldx = 0x01,
    /// <summary>Store an immediate to memory.</summary>
    St = 0x02,
    /// <summary>Store a register to memory, and atomic operations.</summary>
    Stx = 0x03,
    /// <summary>32-bit arithmetic.</summary>
    Alu = 0x04,
    /// <summary>64-bit jumps, calls and exit.</summary>
    Jmp = 0x05,
    /// <summary>32-bit jumps.</summary>
    Jmp32 = 0x06,
    /// <summary>64-bit arithmetic.</summary>
    Alu64 = 0x07,
}
