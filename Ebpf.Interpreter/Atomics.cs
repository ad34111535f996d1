using Ebpf.Execution;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// The atomic read-modify-write instructions: picks the <see cref="AtomicMemory"/> operation (which uses
/// <see cref="Interlocked"/> on naturally aligned addresses and a plain read-modify-write on misaligned ones) and
/// returns the old value. The caller has already checked the whole access and writes the old value to the decoded
/// write-back register.
/// </summary>
internal static class Atomics
{
    /// <summary>
    /// Runs a 32-bit (<paramref name="wide"/> false) or 64-bit atomic operation on <paramref name="address"/> with the
    /// operand <paramref name="value"/> (and <paramref name="expected"/>, r0, for <c>cmpxchg</c>); returns the old
    /// value (32-bit values zero-extended).
    /// </summary>
    public static ulong Execute(ulong address, Operation operation, bool wide, ulong value, ulong expected) => operation switch
    {
        Operation.AtomicAdd or Operation.AtomicFetchAdd => wide ? AtomicMemory.Add64(address, value) : AtomicMemory.Add32(address, (uint)value),
        Operation.AtomicOr or Operation.AtomicFetchOr => wide ? AtomicMemory.Or64(address, value) : AtomicMemory.Or32(address, (uint)value),
        Operation.AtomicAnd or Operation.AtomicFetchAnd => wide ? AtomicMemory.And64(address, value) : AtomicMemory.And32(address, (uint)value),
        Operation.AtomicXor or Operation.AtomicFetchXor => wide ? AtomicMemory.Xor64(address, value) : AtomicMemory.Xor32(address, (uint)value),
        Operation.AtomicExchange => wide ? AtomicMemory.Exchange64(address, value) : AtomicMemory.Exchange32(address, (uint)value),
        _ => wide ? AtomicMemory.CompareExchange64(address, expected, value) : AtomicMemory.CompareExchange32(address, (uint)expected, (uint)value),
    };
}
