using Ebpf.Il.Emit;
using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Il.Compiler;

/// <summary>
/// ALU and ALU64 instructions. 32-bit operations work on the low halves as IL int32 values and zero-extend the result;
/// 64-bit operations take immediates sign-extended. The places where IL differs from eBPF are guarded explicitly:
/// shift counts are masked, division by zero and the signed INT_MIN / -1 case never reach IL <c>div</c>/<c>rem</c>.
/// </summary>
internal static class AluEmitter
{
    public static void Emit(FunctionCompiler f, int pc, Instruction insn)
    {
        bool wide = insn.Class == InstructionClass.Alu64;
        switch (insn.AluOperation)
        {
            case AluOperation.Add:
            case AluOperation.Sub:
            case AluOperation.Mul:
            case AluOperation.Or:
            case AluOperation.And:
            case AluOperation.Xor:
                Binary(f, insn, wide);
                break;
            case AluOperation.Lsh:
            case AluOperation.Rsh:
            case AluOperation.Arsh:
                Shift(f, insn, wide);
                break;
            case AluOperation.Div:
            case AluOperation.Mod:
                DivMod(f, pc, insn, wide);
                break;
            case AluOperation.Neg:
                LoadDst(f, insn, wide);
                f.Il.Neg();
                StoreDst(f, insn, wide);
                break;
            case AluOperation.Mov:
                Move(f, pc, insn, wide);
                break;
            default:
                ByteSwap(f, pc, insn, wide);
                break;
        }
    }

    private static void Binary(FunctionCompiler f, Instruction insn, bool wide)
    {
        LoadDst(f, insn, wide);
        LoadOperand(f, insn, wide);
        switch (insn.AluOperation)
        {
            case AluOperation.Add: f.Il.Add(); break;
            case AluOperation.Sub: f.Il.Sub(); break;
            case AluOperation.Mul: f.Il.Mul(); break;
            case AluOperation.Or: f.Il.Or(); break;
            case AluOperation.And: f.Il.And(); break;
            default: f.Il.Xor(); break;
        }

        StoreDst(f, insn, wide);
    }

    private static void Shift(FunctionCompiler f, Instruction insn, bool wide)
    {
        int mask = wide ? 63 : 31;
        LoadDst(f, insn, wide);
        if (insn.Source == OperandSource.Register)
        {
            f.Load(insn.Src);
            f.Il.ConvI4();
            f.Il.LdcI4(mask);
            f.Il.And();
        }
        else
        {
            f.Il.LdcI4(insn.Imm & mask);
        }

        switch (insn.AluOperation)
        {
            case AluOperation.Lsh: f.Il.Shl(); break;
            case AluOperation.Rsh: f.Il.ShrUn(); break;
            default: f.Il.Shr(); break;
        }

        StoreDst(f, insn, wide);
    }

    private static void DivMod(FunctionCompiler f, int pc, Instruction insn, bool wide)
    {
        if (insn.Offset is not (0 or 1))
        {
            throw FunctionCompiler.Invalid(pc, insn, Invariant($"{insn.AluOperation} offset must be 0 (unsigned) or 1 (signed), not {insn.Offset}"));
        }

        bool signed = insn.Offset == 1;
        bool div = insn.AluOperation == AluOperation.Div;
        if (insn.Source == OperandSource.Immediate)
        {
            if (insn.Imm == 0)
            {
                DivideByZero(f, insn, wide, div);
            }
            else if (signed && insn.Imm == -1)
            {
                DivideByMinusOne(f, insn, wide, div);
            }
            else
            {
                LoadDst(f, insn, wide);
                LoadOperand(f, insn, wide);
                Divide(f, signed, div);
                StoreDst(f, insn, wide);
            }

            return;
        }

        var il = f.Il;
        var end = il.DefineLabel($"DIVEND_{pc}");
        var byZero = f.AddStub("DIVZERO", () =>
        {
            DivideByZero(f, insn, wide, div);
            il.Br(end);
        });
        LoadSrc(f, insn, wide);
        if (wide)
        {
            il.LdcI8(0);
            il.Beq(byZero);
        }
        else
        {
            il.Brfalse(byZero);
        }

        if (signed)
        {
            var byMinusOne = f.AddStub("DIVMINUS1", () =>
            {
                DivideByMinusOne(f, insn, wide, div);
                il.Br(end);
            });
            LoadSrc(f, insn, wide);
            if (wide)
            {
                il.LdcI8(-1);
            }
            else
            {
                il.LdcI4(-1);
            }

            il.Beq(byMinusOne);
        }

        if (!wide)
        {
            // 32-bit div/mod as a 64-bit operation on the zero- (or sign-) extended low halves: the same result, and the
            // INT_MIN / -1 case is handled above. With a 32-bit div/rem of two conv.u4 register loads, RyuJIT (.NET 10,
            // optimised code) can copy the 64-bit register local that sits in rdx with a 32-bit mov to free rdx for the
            // division and later reload the local from that truncated copy, losing its upper half (seen in the
            // differential test as r0 = 0xe6756773 instead of 0x1e6756773 after "mod32 r2, r0").
            f.Load32(insn.Dst);
            Extend(il, signed);
            f.Load32(insn.Src);
            Extend(il, signed);
        }
        else
        {
            LoadDst(f, insn, wide);
            LoadSrc(f, insn, wide);
        }

        Divide(f, signed, div);
        if (!wide)
        {
            il.ConvU4();
        }

        StoreDst(f, insn, wide);
        il.MarkLabel(end);
    }

    private static void Extend(IlEmitter il, bool signed)
    {
        if (signed)
        {
            il.ConvI8();
        }
        else
        {
            il.ConvU8();
        }
    }

    private static void Divide(FunctionCompiler f, bool signed, bool div)
    {
        switch ((signed, div))
        {
            case (false, true): f.Il.DivUn(); break;
            case (false, false): f.Il.RemUn(); break;
            case (true, true): f.Il.Div(); break;
            default: f.Il.Rem(); break;
        }
    }

    /// <summary>x / 0 = 0; x % 0 = x (the 32-bit form still zero-extends).</summary>
    private static void DivideByZero(FunctionCompiler f, Instruction insn, bool wide, bool div)
    {
        if (div)
        {
            f.Il.LdcI8(0);
            f.Store(insn.Dst);
        }
        else if (!wide)
        {
            f.Load32(insn.Dst);
            f.Store32(insn.Dst);
        }
    }

    /// <summary>Signed x / -1 = -x (INT_MIN stays INT_MIN, where IL div would throw); x % -1 = 0.</summary>
    private static void DivideByMinusOne(FunctionCompiler f, Instruction insn, bool wide, bool div)
    {
        if (div)
        {
            LoadDst(f, insn, wide);
            f.Il.Neg();
            StoreDst(f, insn, wide);
        }
        else
        {
            f.Il.LdcI8(0);
            f.Store(insn.Dst);
        }
    }

    private static void Move(FunctionCompiler f, int pc, Instruction insn, bool wide)
    {
        if (insn.Source == OperandSource.Immediate)
        {
            if (insn.Offset != 0)
            {
                throw FunctionCompiler.Invalid(pc, insn, Invariant($"mov with an immediate must have offset 0, not {insn.Offset}"));
            }

            if (wide)
            {
                f.Il.LdcI8(insn.Imm);
            }
            else
            {
                f.Il.LdcU8((uint)insn.Imm);
            }

            f.Store(insn.Dst);
            return;
        }

        f.Load(insn.Src);
        switch (insn.Offset)
        {
            case 0:
                if (!wide)
                {
                    f.Il.ConvU4();
                }

                break;
            case 8:
                f.Il.ConvI1();
                break;
            case 16:
                f.Il.ConvI2();
                break;
            case 32 when wide:
                f.Il.ConvI4();
                break;
            default:
                throw FunctionCompiler.Invalid(pc, insn, Invariant($"mov offset must be 0 or a sign-extension width (8, 16{(wide ? ", 32" : string.Empty)}), not {insn.Offset}"));
        }

        // The value is an int32 here unless it is a plain 64-bit move.
        if (wide && insn.Offset == 0)
        {
            f.Store(insn.Dst);
        }
        else if (wide)
        {
            f.Il.ConvI8();
            f.Store(insn.Dst);
        }
        else
        {
            f.Store32(insn.Dst);
        }
    }

    private static void ByteSwap(FunctionCompiler f, int pc, Instruction insn, bool wide)
    {
        if (insn.Imm is not (16 or 32 or 64))
        {
            throw FunctionCompiler.Invalid(pc, insn, Invariant($"byte swap width must be 16, 32 or 64, not {insn.Imm}"));
        }

        // bswap (ALU64) always swaps; le/be swap when the requested order is not the host's.
        bool swap = wide || ((insn.Source == OperandSource.Register) == BitConverter.IsLittleEndian);
        var il = f.Il;
        switch (insn.Imm)
        {
            case 16:
                f.Load(insn.Dst);
                il.ConvU2();
                if (swap)
                {
                    il.Call(RuntimeMembers.ReverseUInt16);
                }

                il.ConvU8();
                f.Store(insn.Dst);
                break;
            case 32:
                f.Load32(insn.Dst);
                if (swap)
                {
                    il.Call(RuntimeMembers.ReverseUInt32);
                }

                f.Store32(insn.Dst);
                break;
            default:
                if (swap)
                {
                    f.Load(insn.Dst);
                    il.Call(RuntimeMembers.ReverseUInt64);
                    f.Store(insn.Dst);
                }

                break;
        }
    }

    private static void LoadDst(FunctionCompiler f, Instruction insn, bool wide)
    {
        if (wide)
        {
            f.Load(insn.Dst);
        }
        else
        {
            f.Load32(insn.Dst);
        }
    }

    private static void LoadSrc(FunctionCompiler f, Instruction insn, bool wide)
    {
        if (wide)
        {
            f.Load(insn.Src);
        }
        else
        {
            f.Load32(insn.Src);
        }
    }

    private static void StoreDst(FunctionCompiler f, Instruction insn, bool wide)
    {
        if (wide)
        {
            f.Store(insn.Dst);
        }
        else
        {
            f.Store32(insn.Dst);
        }
    }

    /// <summary>The source operand: the register, or the immediate (sign-extended to 64 bits in ALU64).</summary>
    private static void LoadOperand(FunctionCompiler f, Instruction insn, bool wide)
    {
        if (insn.Source == OperandSource.Register)
        {
            LoadSrc(f, insn, wide);
        }
        else if (wide)
        {
            f.Il.LdcI8(insn.Imm);
        }
        else
        {
            f.Il.LdcI4(insn.Imm);
        }
    }
}
