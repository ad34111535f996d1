namespace Ebpf.Fuzzing.Generation;

/// <summary>The families of operations the differential generator produces.</summary>
public enum OpKind
{
    /// <summary>An ALU or ALU64 operation (immediate or register, movsx, neg, byte swaps).</summary>
    Alu,

    /// <summary>A 64-bit immediate load.</summary>
    Lddw,

    /// <summary>A load, sign-extending or not, from the stack, the input or a stray address.</summary>
    Load,

    /// <summary>A store of an immediate or a register.</summary>
    Store,

    /// <summary>An atomic operation on the stack or the input.</summary>
    Atomic,

    /// <summary>A conditional or unconditional jump, forward or (with a budget) backward.</summary>
    Jump,

    /// <summary>A legacy packet load (LD_ABS or LD_IND).</summary>
    PacketLoad,

    /// <summary>A call of one of the generated environment's helpers.</summary>
    HelperCall,

    /// <summary>A <c>callx</c> through a register.</summary>
    CallX,

    /// <summary>A call of the local function.</summary>
    LocalCall,

    /// <summary><c>ja</c> over a few unreachable slots, jumps among them (to any operation of the function).</summary>
    Unreachable,

    /// <summary>A read from the input after a kernel-style bounds check against the length in r2.</summary>
    CheckedLoad,

    /// <summary>A lookup in the environment's array map with a null check, then a read of the value.</summary>
    MapLookup,
}
