using System.Reflection.Emit;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Jumps: <c>ja</c>/<c>gotol</c> become <c>br</c>; a conditional jump compares the two 64-bit registers (JMP, with the
/// immediate sign-extended) or their low halves (JMP32) and branches to the target's label with the IL branch of the
/// same signedness.
/// </summary>
internal static class JumpEmitter
{
    public static void Emit(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        if (insn.Target <= pc && !f.HeadPolls(pc, insn.Target))
        {
            f.EmitCancelPoll(pc);
        }

        var target = f.BranchTarget(pc, insn.Target);
        if (insn.Operation is Operation.Ja or Operation.Ja32)
        {
            f.Il.Br(target);
            return;
        }

        bool wide = insn.Is64;
        if (wide)
        {
            f.Load(insn.Dst);
        }
        else
        {
            f.Load32(insn.Dst);
        }

        if (insn.HasRegisterSource)
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

        Branch(f, insn.Operation, wide, target);
    }

    private static void Branch(FunctionCompiler f, Operation op, bool wide, Label target)
    {
        var il = f.Il;
        switch (op)
        {
            case Operation.Jeq: il.Beq(target); break;
            case Operation.Jne: il.BneUn(target); break;
            case Operation.Jgt: il.BgtUn(target); break;
            case Operation.Jge: il.BgeUn(target); break;
            case Operation.Jlt: il.BltUn(target); break;
            case Operation.Jle: il.BleUn(target); break;
            case Operation.Jsgt: il.Bgt(target); break;
            case Operation.Jsge: il.Bge(target); break;
            case Operation.Jslt: il.Blt(target); break;
            case Operation.Jsle: il.Ble(target); break;
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
