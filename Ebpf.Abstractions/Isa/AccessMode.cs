namespace Ebpf.Isa;

/// <summary>The mode field of load and store opcodes (bits 5-7).</summary>
public enum AccessMode : byte
{
    /// <summary>Immediate: <c>lddw</c> (64-bit immediate load, two slots).</summary>
    Immediate = 0x00,
    /// <summary>Legacy packet load at an absolute offset (<c>LD_ABS</c>).</summary>
    Absolute = 0x20,
    /// <summary>Legacy packet load at a register-relative offset (<c>LD_IND</c>).</summary>
    Indirect = 0x40,
    /// <summary>Regular memory load or store.</summary>
    Memory = 0x60,
    /// <summary>Sign-extending memory load (<c>ldxs*</c>).</summary>
    MemorySignExtend = 0x80,
    /// <summary>Atomic operation (the operation is in the immediate; legacy <c>xadd</c> is atomic add).</summary>
    Atomic = 0xc0,
}
