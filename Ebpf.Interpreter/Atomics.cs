using Ebpf.Execution;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// The atomic read-modify-write instructions: picks the <see cref="AtomicMemory"/> operation (which uses
/// <see cref="Interlocked"/> on naturally aligned addresses and a plain read-modify-write on misaligned ones) and
/// writes the old value to the decoded write-back register. The caller has already checked the whole access. Kept out
/// of the dispatch loop so that the loop's register allocation does not change with it.
/// </summary>
internal static unsafe class Atomics
{
    /// <summary>The <see cref="DecodedInstruction.WriteBack"/> of an instruction that writes no old value back.</summary>
    public const byte NoRegister = 0xff;

    /// <summary>
    /// Runs the 32-bit (<paramref name="wide"/> false) or 64-bit atomic operation of <paramref name="ins"/> on
    /// <paramref name="address"/> with the registers <paramref name="r"/>; the old value (32-bit values zero-extended)
    /// goes to the write-back register, if any.
    /// </summary>
    public static void Execute(ulong address, DecodedInstruction* ins, ulong* r, bool wide)
    {
        ulong value = r[ins->Src];
        ulong old = (Operation)ins->Imm switch
        {
            Operation.AtomicAdd or Operation.AtomicFetchAdd => wide ? AtomicMemory.Add64(address, value) : AtomicMemory.Add32(address, (uint)value),
            Operation.AtomicOr or Operation.AtomicFetchOr => wide ? AtomicMemory.Or64(address, value) : AtomicMemory.Or32(address, (uint)value),
            Operation.AtomicAnd or Operation.AtomicFetchAnd => wide ? AtomicMemory.And64(address, value) : AtomicMemory.And32(address, (uint)value),
            Operation.AtomicXor or Operation.AtomicFetchXor => wide ? AtomicMemory.Xor64(address, value) : AtomicMemory.Xor32(address, (uint)value),
            Operation.AtomicExchange => wide ? AtomicMemory.Exchange64(address, value) : AtomicMemory.Exchange32(address, (uint)value),
            _ => wide ? AtomicMemory.CompareExchange64(address, r[0], value) : AtomicMemory.CompareExchange32(address, (uint)r[0], (uint)value),
        };
        if (ins->WriteBack != NoRegister)
        {
            r[ins->WriteBack] = old;
        }
    }
}
