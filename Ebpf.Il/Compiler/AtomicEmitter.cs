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
    public static void Emit(FunctionCompiler f, int pc, Instruction insn)
    {
        bool wide = insn.OpCode == OpCodes.AtomicDW;
        int size = wide ? 8 : 4;
        var op = (AtomicOperation)insn.Imm;
        var method = Method(op, wide) ?? throw FunctionCompiler.Invalid(pc, insn, $"unknown atomic operation 0x{insn.Imm:x}");
        MemoryEmitter.PushCheckedAddress(f, pc, insn.Dst, insn.Offset, size, MemoryAccessKind.Write, asPointer: false);
        if (op == AtomicOperation.CompareExchange)
        {
            LoadValue(f, 0, wide);
            LoadValue(f, insn.Src, wide);
            f.Il.Call(method);
            StoreValue(f, 0, wide);
            return;
        }

        LoadValue(f, insn.Src, wide);
        f.Il.Call(method);
        if (((int)op & 0x01) != 0)
        {
            StoreValue(f, insn.Src, wide);
        }
        else
        {
            f.Il.Pop();
        }
    }

    private static MethodInfo? Method(AtomicOperation op, bool wide) => op switch
    {
        AtomicOperation.Add or AtomicOperation.FetchAdd => wide ? RuntimeMembers.AtomicAdd64 : RuntimeMembers.AtomicAdd32,
        AtomicOperation.Or or AtomicOperation.FetchOr => wide ? RuntimeMembers.AtomicOr64 : RuntimeMembers.AtomicOr32,
        AtomicOperation.And or AtomicOperation.FetchAnd => wide ? RuntimeMembers.AtomicAnd64 : RuntimeMembers.AtomicAnd32,
        AtomicOperation.Xor or AtomicOperation.FetchXor => wide ? RuntimeMembers.AtomicXor64 : RuntimeMembers.AtomicXor32,
        AtomicOperation.Exchange => wide ? RuntimeMembers.AtomicExchange64 : RuntimeMembers.AtomicExchange32,
        AtomicOperation.CompareExchange => wide ? RuntimeMembers.AtomicCompareExchange64 : RuntimeMembers.AtomicCompareExchange32,
        _ => null,
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
