using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Loads, stores and the legacy packet loads. Accesses are unaligned little-endian (<c>unaligned. ldind</c> /
/// <c>stind</c>); the address is checked first unless checks are off, it provably lies in the function's own frame
/// (r10 with a constant offset inside it) or the safety analysis proves it in bounds (<see cref="Analysis.CheckPlan"/>).
/// </summary>
internal static class MemoryEmitter
{
    /// <summary><c>ldx</c>/<c>ldxs</c>: dst = [src + offset], zero- or sign-extended.</summary>
    public static void EmitLoad(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        int size = insn.AccessSize;
        bool signed = insn.IsSigned;
        PushCheckedAddress(f, pc, insn.Src, insn.Offset, size, MemoryAccessKind.Read);
        f.Il.LdindUnaligned(size, signed);
        if (size < 8)
        {
            if (signed)
            {
                f.Il.ConvI8();
            }
            else
            {
                f.Il.ConvU8();
            }
        }

        f.Store(insn.Dst);
    }

    /// <summary><c>st</c> (the immediate) and <c>stx</c> (the source register): [dst + offset] = value.</summary>
    public static void EmitStore(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        int size = insn.AccessSize;
        PushCheckedAddress(f, pc, insn.Dst, insn.Offset, size, MemoryAccessKind.Write);
        if (!insn.HasRegisterSource)
        {
            if (size == 8)
            {
                f.Il.LdcI8(insn.Imm);
            }
            else
            {
                f.Il.LdcI4(insn.Imm);
            }
        }
        else if (size == 8)
        {
            f.Load(insn.Src);
        }
        else
        {
            f.Load32(insn.Src);
        }

        f.Il.StindUnaligned(size);
    }

    /// <summary>
    /// LD_ABS / LD_IND: r0 = the input bytes at imm (or src as u32 + imm), little-endian, zero-extended; always checked
    /// against the input alone (whatever the memory-check option), like the interpreter.
    /// </summary>
    public static void EmitPacketLoad(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        var il = f.Il;
        int size = insn.AccessSize;
        if (insn.Operation == Operation.LoadIndirect)
        {
            f.Load32(insn.Src);
            il.ConvU8();
            il.LdcI8(insn.Imm);
            il.Add();
        }
        else
        {
            il.LdcI8(insn.Imm);
        }

        il.Stloc(f.Address);
        var outside = f.AddStub("PACKET", () =>
        {
            il.Ldarg(FunctionCompiler.ArgClosure);
            il.Ldarg(FunctionCompiler.ArgState);
            il.Ldloc(f.InputBase);
            il.Ldloc(f.Address);
            il.Add();
            il.LdcI4(size);
            il.LdcI4((int)MemoryAccessKind.Read);
            f.PushStackLow();
            il.LdcI4(pc);
            il.Call(RuntimeMembers.Violation);
            il.Throw();
        });
        il.Ldloc(f.Address);
        il.Ldloc(f.InputLimit(size));
        il.BgeUn(outside);
        il.Ldloc(f.InputBase);
        il.Ldloc(f.Address);
        il.Add();
        il.ConvU();
        il.LdindUnaligned(size, signed: false);
        if (size < 8)
        {
            il.ConvU8();
        }

        f.Store(0);
    }

    /// <summary>Pushes <c>base + offset</c> (64 bits).</summary>
    public static void PushAddress(FunctionCompiler f, int baseRegister, short offset)
    {
        f.Load(baseRegister);
        if (offset != 0)
        {
            f.Il.LdcI8(offset);
            f.Il.Add();
        }
    }

    /// <summary>
    /// Pushes <c>base + offset</c> as a native pointer (or as a <c>ulong</c> when <paramref name="asPointer"/> is false)
    /// after checking the access (the address is kept in <see cref="FunctionCompiler.Address"/> for the slow path).
    /// </summary>
    public static void PushCheckedAddress(
        FunctionCompiler f, int pc, int baseRegister, short offset, int size, MemoryAccessKind access, bool asPointer = true)
    {
        var il = f.Il;
        if (f.NeedsCheck(pc))
        {
            f.Checks.EmitCheck(pc, size, access, baseRegister, offset);
            if (!f.InLoopCopy)
            {
                f.Owner.CheckedAccesses++;
            }
        }

        // The address is computed again rather than kept from the check: a local live across the cold path would be
        // spilled in the hot one.
        PushAddress(f, baseRegister, offset);
        if (asPointer)
        {
            il.ConvU();
        }
    }
}
