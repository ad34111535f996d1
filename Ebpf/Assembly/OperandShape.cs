namespace Ebpf.Assembly;

/// <summary>The operands an instruction form takes.</summary>
internal enum OperandShape
{
    /// <summary>No operand (<c>exit</c>).</summary>
    None,

    /// <summary>One register, the destination (<c>neg64 r1</c>, <c>be16 r0</c>).</summary>
    Dst,

    /// <summary>Destination register and a register or immediate source (<c>add64 r1, r2</c>, <c>add64 r1, 5</c>).</summary>
    DstSource,

    /// <summary>Destination and source registers only (<c>movsx1664 r0, r1</c>).</summary>
    DstSrc,

    /// <summary>Register, register or immediate, jump target (<c>jeq r1, 5, +3</c>).</summary>
    ConditionalJump,

    /// <summary>A jump target in the 16-bit offset (<c>ja +2</c>).</summary>
    Jump16,

    /// <summary>A jump target in the 32-bit immediate (<c>ja32 +2</c>).</summary>
    Jump32,

    /// <summary><c>call 1</c>, <c>call local f</c>, <c>call helper 1</c>, <c>call %r2</c>.</summary>
    Call,

    /// <summary>One register in <c>dst</c> (<c>callx r2</c>).</summary>
    CallX,

    /// <summary>Register and 64-bit immediate, optionally with a pseudo-source keyword (<c>lddw r0, 0x1122334455667788</c>).</summary>
    Lddw,

    /// <summary>Register and memory operand (<c>ldxw r0, [r1+2]</c>).</summary>
    Load,

    /// <summary>Memory operand and immediate (<c>stw [r1+2], 5</c>).</summary>
    StoreImmediate,

    /// <summary>Memory operand and register (<c>stxw [r1+2], r2</c>, also atomics).</summary>
    StoreRegister,

    /// <summary>One immediate (<c>ldabsw 0x10</c>).</summary>
    Absolute,

    /// <summary>Register (in <c>src</c>) and immediate (<c>ldindb r1, 0x2</c>).</summary>
    Indirect,

    /// <summary>One 64-bit word giving the whole slot (<c>.slot 0x0000000000000095</c>).</summary>
    Slot,
}
