using System.Reflection.Emit;
using Ebpf.Isa;
using OpCodes = Ebpf.Isa.OpCodes;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Jumps: <c>ja</c>/<c>gotol</c> become <c>br</c>; a conditional jump compares the two 64-bit registers (JMP, with the
/// immediate sign-extended) or their low halves (JMP32) and branches to the target's label with the IL branch of the
/// same signedness.
/// </summary>
internal static class JumpEmitter
{
    public static void Emit(FunctionCompiler f, int pc, Instruction insn)
    {
        int targetPc = (int)OpCodeTable.JumpTarget(insn, pc);
        if (targetPc <= pc)
        {
            f.EmitCancelPoll(pc);
        }

        var target = f.JumpLabel(targetPc);
        if (insn.OpCode is OpCodes.Ja or OpCodes.Ja32)
        {
            f.Il.Br(target);
            return;
        }

        bool wide = insn.Class == InstructionClass.Jmp;
        if (wide)
        {
            f.Load(insn.Dst);
        }
        else
        {
            f.Load32(insn.Dst);
        }

        if (insn.Source == OperandSource.Register)
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
        else if (wide)
        {
            f.Il.LdcI8(insn.Imm);
        }
        else
        {
            f.Il.LdcI4(insn.Imm);
        }

        Branch(f, insn.JumpOperation, wide, target);
    }

    private static void Branch(FunctionCompiler f, JumpOperation op, bool wide, Label target)
    {
        var il = f.Il;
        switch (op)
        {
            case JumpOperation.Jeq: il.Beq(target); break;
            case JumpOperation.Jne: il.BneUn(target); break;
            case JumpOperation.Jgt: il.BgtUn(target); break;
            case JumpOperation.Jge: il.BgeUn(target); break;
            case JumpOperation.Jlt: il.BltUn(target); break;
            case JumpOperation.Jle: il.BleUn(target); break;
            case JumpOperation.Jsgt: il.Bgt(target); break;
            case JumpOperation.Jsge: il.Bge(target); break;
            case JumpOperation.Jslt: il.Blt(target); break;
            case JumpOperation.Jsle: il.Ble(target); break;
            default:
                // jset: (dst & src) != 0
                il.And();
                if (wide)
                {
                    il.LdcI8(0);
                    il.BneUn(target);
                }
                else
                {
                    il.Brtrue(target);
                }

                break;
        }
    }
}
