using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>ALU and ALU64: arithmetic, shifts, moves, byte swaps, guarded division.</summary>
internal sealed partial class X64Compiler
{
    private void EmitAlu(DecodedInstruction insn)
    {
        switch (insn.Operation)
        {
            case Operation.Add:
            case Operation.Sub:
            case Operation.Mul:
            case Operation.Or:
            case Operation.And:
            case Operation.Xor:
            case Operation.Neg:
                EmitArithmetic(insn.Operation, insn.Is64, R64(insn.Dst), insn.HasRegisterSource ? R64(insn.Src) : null, insn.Imm);
                break;
            case Operation.Mov:
            case Operation.MovSx8:
            case Operation.MovSx16:
            case Operation.MovSx32:
                EmitMov(insn);
                break;
            case Operation.Lsh:
            case Operation.Rsh:
            case Operation.Arsh:
                EmitShift(insn);
                break;
            case Operation.Div:
            case Operation.SDiv:
            case Operation.Mod:
            case Operation.SMod:
                EmitDivMod(insn, insn.Operation is Operation.Mod or Operation.SMod, insn.IsSigned);
                break;
            default:
                EmitByteSwap(insn);
                break;
        }
    }

    /// <summary>
    /// <paramref name="target"/> op= <paramref name="source"/> (the immediate <paramref name="imm"/> when it is null) for
    /// add, sub, mul, or, and, xor and neg, in the width <paramref name="is64"/> gives (a 32-bit operation zero-extends):
    /// the eBPF register's own instruction, and the scratch-register step of an if-converted run.
    /// </summary>
    private void EmitArithmetic(Operation operation, bool is64, AssemblerRegister64 target, AssemblerRegister64? source, int imm)
    {
        var dd = new AssemblerRegister32(target.Value.GetFullRegister32());
        bool reg = source is not null;
        var sq = source ?? default;
        var sd = reg ? new AssemblerRegister32(sq.Value.GetFullRegister32()) : default;
        switch (operation)
        {
            case Operation.Add:
                if (is64) { if (reg) a.add(target, sq); else a.add(target, imm); }
                else { if (reg) a.add(dd, sd); else a.add(dd, imm); }
                break;
            case Operation.Sub:
                if (is64) { if (reg) a.sub(target, sq); else a.sub(target, imm); }
                else { if (reg) a.sub(dd, sd); else a.sub(dd, imm); }
                break;
            case Operation.Mul:
                if (is64) { if (reg) a.imul(target, sq); else a.imul(target, target, imm); }
                else { if (reg) a.imul(dd, sd); else a.imul(dd, dd, imm); }
                break;
            case Operation.Or:
                if (is64) { if (reg) a.or(target, sq); else a.or(target, imm); }
                else { if (reg) a.or(dd, sd); else a.or(dd, imm); }
                break;
            case Operation.And:
                if (is64) { if (reg) a.and(target, sq); else a.and(target, imm); }
                else { if (reg) a.and(dd, sd); else a.and(dd, imm); }
                break;
            case Operation.Xor:
                if (is64) { if (reg) a.xor(target, sq); else a.xor(target, imm); }
                else { if (reg) a.xor(dd, sd); else a.xor(dd, imm); }
                break;
            case Operation.Neg:
                if (is64) { a.neg(target); } else { a.neg(dd); }
                break;
            default:
                throw new InvalidOperationException($"{operation} is not an arithmetic operation");
        }
    }

    /// <summary>
    /// <paramref name="target"/> shifted (lsh, rsh, arsh) by the constant <paramref name="imm"/>, masked as eBPF masks it
    /// (&amp; 63 / &amp; 31); a 32-bit shift by 0 still zero-extends.
    /// </summary>
    private void EmitShiftByConstant(Operation operation, bool is64, AssemblerRegister64 target, int imm)
    {
        var dd = new AssemblerRegister32(target.Value.GetFullRegister32());
        int count = imm & (is64 ? 63 : 31);
        if (count == 0)
        {
            if (!is64)
            {
                a.mov(dd, dd);
            }

            return;
        }

        byte c = (byte)count;
        if (is64)
        {
            if (operation == Operation.Lsh) a.shl(target, c);
            else if (operation == Operation.Rsh) a.shr(target, c);
            else a.sar(target, c);
        }
        else
        {
            if (operation == Operation.Lsh) a.shl(dd, c);
            else if (operation == Operation.Rsh) a.shr(dd, c);
            else a.sar(dd, c);
        }
    }

    private void EmitMov(DecodedInstruction insn)
    {
        int d = insn.Dst;
        int s = insn.Src;
        bool is64 = insn.Is64;
        if (!insn.HasRegisterSource)
        {
            if (is64)
            {
                MovConstant(R64(d), (ulong)(long)insn.Imm);
            }
            else
            {
                MovConstant(R64(d), (uint)insn.Imm);
            }

            return;
        }

        switch (insn.Operation, is64)
        {
            case (Operation.MovSx8, true):
                a.movsx(R64(d), R8(s));
                break;
            case (Operation.MovSx16, true):
                a.movsx(R64(d), R16(s));
                break;
            case (Operation.MovSx32, _):
                a.movsxd(R64(d), R32(s));
                break;
            case (Operation.MovSx8, false):
                a.movsx(R32(d), R8(s));
                break;
            case (Operation.MovSx16, false):
                a.movsx(R32(d), R16(s));
                break;
            case (_, true):
                if (d != s)
                {
                    a.mov(R64(d), R64(s));
                }

                break;
            default:
                a.mov(R32(d), R32(s));
                break;
        }
    }

    private void EmitShift(DecodedInstruction insn)
    {
        int d = insn.Dst;
        bool is64 = insn.Is64;
        var op = insn.Operation;
        if (!insn.HasRegisterSource)
        {
            EmitShiftByConstant(op, is64, R64(d), insn.Imm);
            return;
        }

        // x86 masks the count in cl exactly as eBPF does (& 63 / & 31).
        a.mov(ecx, R32(insn.Src));
        if (is64)
        {
            if (op == Operation.Lsh) a.shl(R64(d), cl);
            else if (op == Operation.Rsh) a.shr(R64(d), cl);
            else a.sar(R64(d), cl);
        }
        else
        {
            if (op == Operation.Lsh) a.shl(R32(d), cl);
            else if (op == Operation.Rsh) a.shr(R32(d), cl);
            else a.sar(R32(d), cl);

            // A count of zero leaves flags and register untouched on some processors: zero-extend explicitly.
            a.mov(R32(d), R32(d));
        }
    }

    /// <summary>
    /// div/mod/sdiv/smod with the eBPF rules: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (x86
    /// div and idiv would fault on these). The divisor goes to rcx, the dividend to rax (r0 is parked in r11).
    /// </summary>
    private void EmitDivMod(DecodedInstruction insn, bool isMod, bool signed)
    {
        int d = insn.Dst;
        bool is64 = insn.Is64;
        bool reg = insn.HasRegisterSource;
        var zero = a.CreateLabel();
        var minusOne = a.CreateLabel();
        var done = a.CreateLabel();
        if (!reg)
        {
            if (insn.Imm == 0)
            {
                EmitDivisorZero(d, is64, isMod);
                return;
            }

            if (signed && insn.Imm == -1)
            {
                EmitDivisorMinusOne(d, is64, isMod);
                return;
            }

            if (is64)
            {
                MovConstant(rcx, (ulong)(long)insn.Imm);
            }
            else
            {
                a.mov(ecx, insn.Imm);
            }
        }
        else
        {
            if (is64)
            {
                a.mov(rcx, R64(insn.Src));
                a.test(rcx, rcx);
            }
            else
            {
                a.mov(ecx, R32(insn.Src));
                a.test(ecx, ecx);
            }

            a.je(zero);
            if (signed)
            {
                if (is64)
                {
                    a.cmp(rcx, -1);
                }
                else
                {
                    a.cmp(ecx, -1);
                }

                a.je(minusOne);
            }
        }

        if (d != 0)
        {
            a.mov(r11, rax);
            a.mov(rax, R64(d));
        }

        if (is64)
        {
            if (signed)
            {
                a.cqo();
                a.idiv(rcx);
            }
            else
            {
                a.xor(edx, edx);
                a.div(rcx);
            }

            if (d != 0)
            {
                a.mov(R64(d), isMod ? rdx : rax);
                a.mov(rax, r11);
            }
            else if (isMod)
            {
                a.mov(rax, rdx);
            }
        }
        else
        {
            if (signed)
            {
                a.cdq();
                a.idiv(ecx);
            }
            else
            {
                a.xor(edx, edx);
                a.div(ecx);
            }

            if (d != 0)
            {
                a.mov(R32(d), isMod ? edx : eax);
                a.mov(rax, r11);
            }
            else if (isMod)
            {
                a.mov(eax, edx);
            }
        }

        if (reg)
        {
            a.jmp(done);
            Bind(ref zero);
            EmitDivisorZero(d, is64, isMod);
            if (signed)
            {
                a.jmp(done);
                Bind(ref minusOne);
                EmitDivisorMinusOne(d, is64, isMod);
            }

            Bind(ref done);
        }
    }

    private void EmitDivisorZero(int d, bool is64, bool isMod)
    {
        if (!isMod)
        {
            a.xor(R32(d), R32(d));
        }
        else if (!is64)
        {
            a.mov(R32(d), R32(d));
        }
    }

    private void EmitDivisorMinusOne(int d, bool is64, bool isMod)
    {
        if (isMod)
        {
            a.xor(R32(d), R32(d));
        }
        else if (is64)
        {
            a.neg(R64(d));
        }
        else
        {
            a.neg(R32(d));
        }
    }

    /// <summary>le/be and bswap; the host is little-endian, so le only truncates and be and bswap swap.</summary>
    private void EmitByteSwap(DecodedInstruction insn)
    {
        int d = insn.Dst;
        bool swap = insn.Operation >= Operation.Be16;
        switch (insn.Operation)
        {
            case Operation.Le16 or Operation.Be16 or Operation.Bswap16:
                if (swap)
                {
                    a.rol(R16(d), (byte)8);
                }

                a.movzx(R32(d), R16(d));
                break;
            case Operation.Le32 or Operation.Be32 or Operation.Bswap32:
                if (swap)
                {
                    a.bswap(R32(d));
                }
                else
                {
                    a.mov(R32(d), R32(d));
                }

                break;
            default:
                if (swap)
                {
                    a.bswap(R64(d));
                }

                break;
        }
    }
}
