using Ebpf.Execution;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// The atomic read-modify-write instructions: picks the <see cref="AtomicMemory"/> operation (which uses
/// <see cref="Interlocked"/> on naturally aligned addresses and a plain read-modify-write on misaligned ones) and
/// writes the old value back to the register the fetching forms name. The caller has already checked the whole access.
/// </summary>
internal static class Atomics
{
    /// <summary>
    /// Runs a 32-bit (<paramref name="wide"/> false) or 64-bit atomic operation on <paramref name="address"/>; updates
    /// <paramref name="src"/> or <paramref name="r0"/> for the fetching forms (32-bit old values zero-extended).
    /// </summary>
    public static void Execute(ulong address, AtomicOperation operation, bool wide, ref ulong src, ref ulong r0)
    {
        ulong value = src;
        ulong old = operation switch
        {
            AtomicOperation.Add or AtomicOperation.FetchAdd => wide ? AtomicMemory.Add64(address, value) : AtomicMemory.Add32(address, (uint)value),
            AtomicOperation.Or or AtomicOperation.FetchOr => wide ? AtomicMemory.Or64(address, value) : AtomicMemory.Or32(address, (uint)value),
            AtomicOperation.And or AtomicOperation.FetchAnd => wide ? AtomicMemory.And64(address, value) : AtomicMemory.And32(address, (uint)value),
            AtomicOperation.Xor or AtomicOperation.FetchXor => wide ? AtomicMemory.Xor64(address, value) : AtomicMemory.Xor32(address, (uint)value),
            AtomicOperation.Exchange => wide ? AtomicMemory.Exchange64(address, value) : AtomicMemory.Exchange32(address, (uint)value),
            _ => wide ? AtomicMemory.CompareExchange64(address, r0, value) : AtomicMemory.CompareExchange32(address, (uint)r0, (uint)value),
        };

        // cmpxchg loads the old value into r0; the FETCH forms (and xchg) into the source register; the others nowhere.
        if (operation == AtomicOperation.CompareExchange)
        {
            r0 = old;
        }
        else if (((int)operation & 1) != 0)
        {
            src = old;
        }
    }
}
