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
}
