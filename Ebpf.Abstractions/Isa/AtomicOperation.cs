namespace Ebpf.Isa;

/// <summary>The operation of an atomic instruction, carried in its immediate.</summary>
public enum AtomicOperation
{
    /// <summary>Atomic add (also rbpf's legacy <c>xadd</c>).</summary>
    Add = 0x00,
    /// <summary>Atomic or.</summary>
    Or = 0x40,
    /// <summary>Atomic and.</summary>
    And = 0x50,
    /// <summary>Atomic xor.</summary>
    Xor = 0xa0,
    /// <summary>Atomic add returning the old value in <c>src</c>.</summary>
    FetchAdd = 0x01,
    /// <summary>Atomic or returning the old value in <c>src</c>.</summary>
    FetchOr = 0x41,
    /// <summary>Atomic and returning the old value in <c>src</c>.</summary>
    FetchAnd = 0x51,
    /// <summary>Atomic xor returning the old value in <c>src</c>.</summary>
    FetchXor = 0xa1,
    /// <summary>Atomic exchange: the old value goes to <c>src</c>.</summary>
    Exchange = 0xe1,
    /// <summary>Atomic compare-and-exchange against <c>r0</c>; the old value goes to <c>r0</c>.</summary>
    CompareExchange = 0xf1,
}
