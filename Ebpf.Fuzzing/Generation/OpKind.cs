namespace Ebpf.Fuzzing.Generation;

/// <summary>The families of operations the generator produces (the guarded ones only in <see cref="ProgramGenerator.Guarded"/>, the kernel ones only in <see cref="ProgramGenerator.Kernel"/>).</summary>
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

    /// <summary><c>bpf_map_lookup_elem</c> in the environment's array map, mostly with a null check, then a read (and write-back) of the value.</summary>
    MapLookup,

    /// <summary><c>bpf_map_update_elem</c> or <c>bpf_map_delete_elem</c> on a map no program reads.</summary>
    MapUpdate,

    /// <summary><c>bpf_tail_call</c> through the environment's program array.</summary>
    TailCall,

    /// <summary>Guarded: a read from the input after a pointer-versus-end check.</summary>
    EndCheckedLoad,

    /// <summary>Guarded: a byte read through an index taken from the input and checked against the length.</summary>
    IndexCheckedLoad,

    /// <summary>Guarded: a stack slot handed to a local function that writes through the pointer.</summary>
    StackPointerCall,

    /// <summary>Guarded: a stack read, sometimes of bytes never written.</summary>
    StackRead,

    /// <summary>Guarded: arithmetic on r0 and r5 with edge values.</summary>
    Noise,

    /// <summary>Kernel: a load of a numeric context field (whole, a narrow aligned part, or misaligned).</summary>
    ContextLoad,

    /// <summary>Kernel: a store to a writable context field (sometimes to a read-only or packet pointer field).</summary>
    ContextStore,

    /// <summary>Kernel: a store into the packet after a pointer-versus-end check.</summary>
    PacketStore,

    /// <summary>Kernel: a read of the packet metadata after a <c>meta + k &lt;= data</c> check.</summary>
    MetaLoad,

    /// <summary>Kernel: a packet helper of the program's type (adjust head/tail/meta, load/store bytes, change head/tail, room, VLAN, checksums, redirect), the packet pointers reloaded after it (or, rarely, not).</summary>
    PacketHelper,
}
