using Ebpf.Il.Emit;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// ALU and ALU64 instructions. 32-bit operations work on the low halves as IL int32 values and zero-extend the result;
/// 64-bit operations take immediates sign-extended. The places where IL differs from eBPF are guarded explicitly:
/// shift counts are masked, division by zero and the signed INT_MIN / -1 case never reach IL <c>div</c>/<c>rem</c>.
/// </summary>
internal static class AluEmitter
{
    public static void Emit(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        bool wide = insn.Is64;
        switch (insn.Operation)
        {
            case Operation.Add:
            case Operation.Sub:
            case Operation.Mul:
            case Operation.Or:
            case Operation.And:
            case Operation.Xor:
                Binary(f, insn, wide);
                break;
            case Operation.Lsh:
            case Operation.Rsh:
            case Operation.Arsh:
                Shift(f, insn, wide);
                break;
            case Operation.Div:
            case Operation.SDiv:
            case Operation.Mod:
            case Operation.SMod:
                DivMod(f, pc, insn, wide);
                break;
            case Operation.Neg:
                LoadDst(f, insn, wide);
                f.Il.Neg();
                StoreDst(f, insn, wide);
                break;
            case Operation.Mov:
            case Operation.MovSx8:
            case Operation.MovSx16:
            case Operation.MovSx32:
                Move(f, insn, wide);
                break;
            default:
                ByteSwap(f, insn);
                break;
        }
    }

    private static void Binary(FunctionCompiler f, DecodedInstruction insn, bool wide)
    {
        LoadDst(f, insn, wide);
        LoadOperand(f, insn, wide);
        switch (insn.Operation)
        {
            case Operation.Add: f.Il.Add(); break;
            case Operation.Sub: f.Il.Sub(); break;
            case Operation.Mul: f.Il.Mul(); break;
            case Operation.Or: f.Il.Or(); break;
            case Operation.And: f.Il.And(); break;
            default: f.Il.Xor(); break;
        }

        StoreDst(f, insn, wide);
    }

    private static void Shift(FunctionCompiler f, DecodedInstruction insn, bool wide)
    {
        int mask = wide ? 63 : 31;
        LoadDst(f, insn, wide);
        if (insn.HasRegisterSource)
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

        switch (insn.Operation)
        {
            case Operation.Lsh: f.Il.Shl(); break;
            case Operation.Rsh: f.Il.ShrUn(); break;
            default: f.Il.Shr(); break;
        }

        StoreDst(f, insn, wide);
    }

    private static void DivMod(FunctionCompiler f, int pc, DecodedInstruction insn, bool wide)
    {
        bool signed = insn.IsSigned;
        bool div = insn.Operation is Operation.Div or Operation.SDiv;
        if (!insn.HasRegisterSource)
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
    private static void DivideByZero(FunctionCompiler f, DecodedInstruction insn, bool wide, bool div)
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
    private static void DivideByMinusOne(FunctionCompiler f, DecodedInstruction insn, bool wide, bool div)
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

    private static void Move(FunctionCompiler f, DecodedInstruction insn, bool wide)
    {
        if (!insn.HasRegisterSource)
        {
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
        switch (insn.Operation)
        {
            case Operation.Mov:
                if (!wide)
                {
                    f.Il.ConvU4();
                }

                break;
            case Operation.MovSx8:
                f.Il.ConvI1();
                break;
            case Operation.MovSx16:
                f.Il.ConvI2();
                break;
            default:
                f.Il.ConvI4();
                break;
        }

        // The value is an int32 here unless it is a plain 64-bit move.
        if (wide && insn.Operation == Operation.Mov)
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

    private static void ByteSwap(FunctionCompiler f, DecodedInstruction insn)
    {
        // bswap always swaps; le/be swap when the requested order is not the host's.
        bool swap = insn.Operation switch
        {
            >= Operation.Bswap16 => true,
            >= Operation.Be16 => BitConverter.IsLittleEndian,
            _ => !BitConverter.IsLittleEndian,
        };
        var il = f.Il;
        switch (insn.Operation)
        {
            case Operation.Le16 or Operation.Be16 or Operation.Bswap16:
                f.Load(insn.Dst);
                il.ConvU2();
                if (swap)
                {
                    il.Call(RuntimeMembers.ReverseUInt16);
                }

                il.ConvU8();
                f.Store(insn.Dst);
                break;
            case Operation.Le32 or Operation.Be32 or Operation.Bswap32:
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

    private static void LoadDst(FunctionCompiler f, DecodedInstruction insn, bool wide)
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

    private static void LoadSrc(FunctionCompiler f, DecodedInstruction insn, bool wide)
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

    private static void StoreDst(FunctionCompiler f, DecodedInstruction insn, bool wide)
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
    private static void LoadOperand(FunctionCompiler f, DecodedInstruction insn, bool wide)
    {
        if (insn.HasRegisterSource)
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
