namespace Ebpf.Isa;

/// <summary>
/// Which opcode bytes are defined by the instruction set this project implements (RFC 9669 plus the legacy
/// packet loads in all four sizes, as rbpf has them). What an instruction does is read from its decoded form
/// (<see cref="InstructionDecoder"/>, <see cref="DecodedInstruction"/>).
/// </summary>
public static class OpCodeTable
{
    private static readonly bool[] Defined = BuildTable();

    /// <summary>True when <paramref name="opCode"/> is a defined opcode (the first slot of an instruction).</summary>
    public static bool IsDefined(byte opCode) => Defined[opCode];

    /// <summary>The target slot of a jump at <paramref name="pc"/>: <c>pc + 1 + offset</c>, or <c>pc + 1 + imm</c> for <c>ja32</c>.</summary>
    public static long JumpTarget(in Instruction instruction, int pc) =>
        instruction.OpCode == OpCodes.Ja32 ? pc + 1L + instruction.Imm : pc + 1L + instruction.Offset;

    private static bool[] BuildTable()
    {
        var t = new bool[256];
        foreach (InstructionClass cls in new[] { InstructionClass.Alu, InstructionClass.Alu64 })
        {
            foreach (var op in Enum.GetValues<AluOperation>())
            {
                if (op is AluOperation.Neg or AluOperation.End)
                {
                    continue;
                }

                t[(byte)cls | (byte)op] = true;
                t[(byte)cls | (byte)op | (byte)OperandSource.Register] = true;
            }
        }

        t[OpCodes.Neg32] = t[OpCodes.Neg64] = true;
        t[OpCodes.Le] = t[OpCodes.Be] = t[OpCodes.Bswap] = true;
        foreach (var op in Enum.GetValues<JumpOperation>())
        {
            if (op is JumpOperation.Ja or JumpOperation.Call or JumpOperation.Exit)
            {
                continue;
            }

            foreach (InstructionClass cls in new[] { InstructionClass.Jmp, InstructionClass.Jmp32 })
            {
                t[(byte)cls | (byte)op] = true;
                t[(byte)cls | (byte)op | (byte)OperandSource.Register] = true;
            }
        }

        t[OpCodes.Ja] = t[OpCodes.Ja32] = t[OpCodes.Call] = t[OpCodes.CallX] = t[OpCodes.Exit] = true;
        t[OpCodes.Lddw] = true;
        foreach (var size in Enum.GetValues<AccessSize>())
        {
            byte s = (byte)size;
            t[0x20 | s] = t[0x40 | s] = true; // legacy LD_ABS / LD_IND
            t[0x61 | s] = t[0x62 | s] = t[0x63 | s] = true;
            if (size != AccessSize.DoubleWord)
            {
                t[0x81 | s] = true; // sign-extending loads
            }
        }

        t[OpCodes.AtomicW] = t[OpCodes.AtomicDW] = true;
        return t;
    }
}
