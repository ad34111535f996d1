using Ebpf.Isa;
using OpCodes = Ebpf.Isa.OpCodes;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Guesses, for every memory access of a function, which region its address usually lies in, by following where
/// each register's value came from in program order: r10 and copies or offsets of it point into the stack, r1 on
/// entry into the context, anything else (loaded, computed, returned) is taken for the input. The guess only picks
/// the comparison the generated code makes inline; every region is still accepted (on the cold path), so a wrong
/// guess costs time, never correctness.
/// </summary>
internal static class AccessRegionGuess
{
    private enum Origin : byte
    {
        Unknown,
        Stack,
        Context,
    }

    /// <summary>The guessed region per slot of the function (meaningful at loads, stores and atomics).</summary>
    public static AccessRegion[] Guess(EbpfProgram program, FunctionInfo function, bool isEntry)
    {
        var result = new AccessRegion[function.Length];
        var origin = new Origin[11];
        origin[10] = Origin.Stack;
        if (isEntry)
        {
            origin[1] = Origin.Context;
        }

        for (int pc = function.Start; pc < function.End; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = program.Instructions[pc];
            switch (insn.Class)
            {
                case InstructionClass.Ldx:
                    result[pc - function.Start] = RegionOf(origin[insn.Src]);
                    origin[insn.Dst] = Origin.Unknown;
                    break;
                case InstructionClass.St:
                case InstructionClass.Stx:
                    result[pc - function.Start] = RegionOf(origin[insn.Dst]);
                    if (insn.AccessMode == AccessMode.Atomic)
                    {
                        origin[insn.Imm == (int)AtomicOperation.CompareExchange ? 0 : insn.Src] = Origin.Unknown;
                    }

                    break;
                case InstructionClass.Alu64:
                    origin[insn.Dst] = AluOrigin(insn, origin);
                    break;
                case InstructionClass.Alu:
                    origin[insn.Dst] = Origin.Unknown;
                    break;
                case InstructionClass.Ld:
                    origin[insn.OpCode == OpCodes.Lddw ? insn.Dst : 0] = Origin.Unknown;
                    break;
                default:
                    if (insn.OpCode is OpCodes.Call or OpCodes.CallX)
                    {
                        Array.Clear(origin, 0, 6);
                    }

                    break;
            }
        }

        return result;
    }

    private static Origin AluOrigin(Instruction insn, Origin[] origin)
    {
        bool register = insn.Source == OperandSource.Register;
        return insn.AluOperation switch
        {
            AluOperation.Mov when register && insn.Offset == 0 => origin[insn.Src],
            AluOperation.Add or AluOperation.Sub when !register => origin[insn.Dst],
            AluOperation.Add when origin[insn.Dst] == Origin.Unknown => origin[insn.Src],
            AluOperation.Add or AluOperation.Sub => origin[insn.Dst],
            _ => Origin.Unknown,
        };
    }

    private static AccessRegion RegionOf(Origin origin) => origin switch
    {
        Origin.Stack => AccessRegion.Stack,
        Origin.Context => AccessRegion.Context,
        _ => AccessRegion.Input,
    };
}
