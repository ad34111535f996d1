namespace Ebpf.Isa;

/// <summary>Short names of instruction families for messages (e.g. <c>add32 with an immediate</c>, <c>le</c>, <c>atomic64</c>).</summary>
public static class InstructionNames
{
    /// <summary>The family name of <paramref name="insn"/>, read from its opcode (also for encodings that are not defined).</summary>
    public static string Of(in Instruction insn)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                return Alu(insn);
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                return Jump(insn);
            case InstructionClass.Ld:
                return insn.AccessMode switch
                {
                    AccessMode.Immediate => "lddw",
                    AccessMode.Absolute => "ldabs" + Mnemonics.Size(insn.AccessSize),
                    _ => "ldind" + Mnemonics.Size(insn.AccessSize),
                };
            case InstructionClass.Ldx:
                return (insn.AccessMode == AccessMode.MemorySignExtend ? "ldxs" : "ldx") + Mnemonics.Size(insn.AccessSize);
            case InstructionClass.St:
                return "st" + Mnemonics.Size(insn.AccessSize);
            default:
                return insn.AccessMode == AccessMode.Atomic
                    ? (insn.AccessSize == AccessSize.Word ? "atomic32" : "atomic64")
                    : "stx" + Mnemonics.Size(insn.AccessSize);
        }
    }

    private static string Alu(in Instruction insn)
    {
        string width = insn.Class == InstructionClass.Alu ? "32" : "64";
        switch (insn.AluOperation)
        {
            case AluOperation.Neg:
                return "neg" + width;
            case AluOperation.End:
                return insn.Class == InstructionClass.Alu64 ? "bswap" : insn.Source == OperandSource.Register ? "be" : "le";
        }

        string name = Lower(insn.AluOperation.ToString()) + width;
        return name + (insn.Source == OperandSource.Register ? " with a register" : " with an immediate");
    }

    private static string Jump(in Instruction insn)
    {
        switch (insn.OpCode)
        {
            case OpCodes.Ja:
                return "ja";
            case OpCodes.Ja32:
                return "ja32";
            case OpCodes.Call:
                return "call";
            case OpCodes.CallX:
                return "callx";
            case OpCodes.Exit:
                return "exit";
        }

        string name = Lower(insn.JumpOperation.ToString()) + (insn.Class == InstructionClass.Jmp32 ? "32" : string.Empty);
        return name + (insn.Source == OperandSource.Register ? " with a register" : " with an immediate");
    }

    private static string Lower(string name) => name.ToLowerInvariant();
}
