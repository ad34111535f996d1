using System.Reflection;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Atomic read-modify-write instructions (<c>lock add/or/and/xor</c>, their FETCH forms, <c>xchg</c>, <c>cmpxchg</c>;
/// 32 and 64 bit): the address is checked as a write, then <see cref="Execution.AtomicMemory"/> does the operation
/// (<see cref="Interlocked"/> when aligned) and returns the old value.
/// </summary>
internal static class AtomicEmitter
{
    public static void Emit(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        bool wide = insn.Is64;
        MemoryEmitter.PushCheckedAddress(f, pc, insn.Dst, insn.Offset, insn.AccessSize, MemoryAccessKind.Write, asPointer: false);
        if (insn.Operation == Operation.AtomicCompareExchange)
        {
            LoadValue(f, 0, wide);
        }

        LoadValue(f, insn.Src, wide);
        f.Il.Call(Method(insn.Operation, wide));
        if (insn.WriteBackRegister >= 0)
        {
            StoreValue(f, insn.WriteBackRegister, wide);
        }
        else
        {
            f.Il.Pop();
        }
    }

    private static MethodInfo Method(Operation op, bool wide) => op switch
    {
        Operation.AtomicAdd or Operation.AtomicFetchAdd => wide ? RuntimeMembers.AtomicAdd64 : RuntimeMembers.AtomicAdd32,
        Operation.AtomicOr or Operation.AtomicFetchOr => wide ? RuntimeMembers.AtomicOr64 : RuntimeMembers.AtomicOr32,
        Operation.AtomicAnd or Operation.AtomicFetchAnd => wide ? RuntimeMembers.AtomicAnd64 : RuntimeMembers.AtomicAnd32,
        Operation.AtomicXor or Operation.AtomicFetchXor => wide ? RuntimeMembers.AtomicXor64 : RuntimeMembers.AtomicXor32,
        Operation.AtomicExchange => wide ? RuntimeMembers.AtomicExchange64 : RuntimeMembers.AtomicExchange32,
        _ => wide ? RuntimeMembers.AtomicCompareExchange64 : RuntimeMembers.AtomicCompareExchange32,
    };

    private static void LoadValue(FunctionCompiler f, int r, bool wide)
    {
        if (wide)
        {
            f.Load(r);
        }
        else
        {
            f.Load32(r);
        }
    }

    private static void StoreValue(FunctionCompiler f, int r, bool wide)
    {
        if (wide)
        {
            f.Store(r);
        }
        else
        {
            f.Store32(r);
        }
    }
}
