namespace Ebpf.Tests.Differential;

/// <summary>The families of operations the differential generator produces.</summary>
public enum OpKind
{
    Alu,
    Lddw,
    Load,
    Store,
    Atomic,
    Jump,
    PacketLoad,
    HelperCall,
    CallX,
    LocalCall,

    /// <summary><c>ja</c> over a few unreachable slots, jumps among them (to any operation of the function).</summary>
    Unreachable,
}
