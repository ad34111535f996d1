using Ebpf.Isa;

namespace Ebpf.Analysis;

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

    /// <summary>Fills <paramref name="result"/> (indexed by pc) with the guessed region of each load, store and atomic of the function.</summary>
    public static void Guess(EbpfProgram program, FunctionInfo function, bool isEntry, AccessRegion[] result)
    {
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

            var insn = program.Decoded[pc];
            if (insn.IsMemoryAccess)
            {
                result[pc] = RegionOf(origin[insn.BaseRegister]);
            }

            if (insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal)
            {
                Array.Clear(origin, 0, 6);
            }
            else if (insn.WrittenRegister >= 0)
            {
                origin[insn.WrittenRegister] = insn.Is64 ? AluOrigin(insn, origin) : Origin.Unknown;
            }

            if (insn.WriteBackRegister >= 0)
            {
                origin[insn.WriteBackRegister] = Origin.Unknown;
            }
        }
    }

    /// <summary>Where the value a 64-bit instruction writes comes from: copies and offsets keep the origin.</summary>
    private static Origin AluOrigin(DecodedInstruction insn, Origin[] origin)
    {
        bool register = insn.HasRegisterSource;
        return insn.Operation switch
        {
            Operation.Mov when register => origin[insn.Src],
            Operation.Add or Operation.Sub when !register => origin[insn.Dst],
            Operation.Add when origin[insn.Dst] == Origin.Unknown => origin[insn.Src],
            Operation.Add or Operation.Sub => origin[insn.Dst],
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
