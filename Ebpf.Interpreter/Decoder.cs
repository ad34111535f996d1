using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// Turns the program's canonical decoded form (<see cref="EbpfProgram.Decoded"/>) into the interpreter's dispatch form,
/// one <see cref="DecodedInstruction"/> per slot (so a slot's index is its pc): one dense <see cref="Op"/> per
/// operation, width and operand source, with jump targets, <c>lddw</c> values and helpers resolved once, at compile
/// time. Every encoding here is defined (the program's decoder has rejected the others).
/// </summary>
internal static class Decoder
{
    /// <summary>
    /// Decodes <paramref name="program"/>; a helper call's target is its slot in <paramref name="helpers"/>; loads and
    /// stores <paramref name="checks"/> proves in bounds get the unchecked codes.
    /// </summary>
    /// <exception cref="EbpfCompilationException">An unresolvable <c>lddw</c>.</exception>
    public static DecodedInstruction[] Decode(EbpfProgram program, ProgramEnvironment environment, HelperPlan helpers, CheckPlan checks)
    {
        var code = program.Decoded;
        var decoded = GC.AllocateArray<DecodedInstruction>(code.Length, pinned: true);
        for (int pc = 0; pc < code.Length; pc++)
        {
            var insn = code[pc];
            var d = new DecodedInstruction
            {
                Dst = (byte)insn.Dst,
                Src = (byte)insn.Src,
                WriteBack = (byte)insn.WriteBackRegister,
                Imm = insn.Imm,
                Target = insn.Target >= 0 ? insn.Target : insn.Offset,
            };
            d.Op = Select(insn);
            if (checks.IsProven(pc) && insn.Operation is Operation.Load or Operation.LoadSignExtend or Operation.Store)
            {
                d.Op = Proven(d.Op);
            }

            switch (insn.Operation)
            {
                case Operation.Lsh or Operation.Rsh or Operation.Arsh:
                    d.Imm = insn.Imm & (insn.Width - 1);
                    break;
                case Operation.Lddw:
                    d.Imm = (long)environment.ResolveLddw(InterpreterEngine.EngineName, program, pc);
                    break;
                case >= Operation.AtomicAdd:
                    d.Imm = (long)insn.Operation;
                    break;
                case Operation.CallHelper:
                    d.Target = helpers.SlotOf(pc);
                    break;
            }

            decoded[pc] = d;
        }

        return decoded;
    }

    /// <summary>The unchecked code of a checked load or store code.</summary>
    private static Op Proven(Op op) => op switch
    {
        >= Op.LdxB and <= Op.LdxsW => Op.LdxBProven + (op - Op.LdxB),
        >= Op.StB and <= Op.StxDW => Op.StBProven + (op - Op.StB),
        _ => op,
    };

    /// <summary>The dispatch code of an instruction: the operation's first code, then width, source and size variants.</summary>
    private static Op Select(in Isa.DecodedInstruction insn)
    {
        int source = insn.HasRegisterSource ? 1 : 0;
        int size = insn.AccessSize switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
        switch (insn.Operation)
        {
            case >= Operation.Add and <= Operation.Mov:
                // Add..Arsh and Mov: an Imm/Reg pair each, Neg one code, in the order of the operation enum.
                int rank = insn.Operation switch
                {
                    Operation.Neg => 26,
                    Operation.Mov => 27,
                    _ => 2 * (insn.Operation - Operation.Add),
                };
                return (Op)((int)(insn.Is64 ? Op.Add64Imm : Op.Add32Imm) + rank + (insn.Operation == Operation.Neg ? 0 : source));
            case Operation.MovSx8: return insn.Is64 ? Op.MovSx64B : Op.MovSx32B;
            case Operation.MovSx16: return insn.Is64 ? Op.MovSx64H : Op.MovSx32H;
            case Operation.MovSx32: return Op.MovSx64W;
            case Operation.Le16: return Op.ZeroExtend16;
            case Operation.Le32: return Op.ZeroExtend32;
            case Operation.Le64: return Op.Nop;
            case Operation.Be16 or Operation.Bswap16: return Op.Swap16;
            case Operation.Be32 or Operation.Bswap32: return Op.Swap32;
            case Operation.Be64 or Operation.Bswap64: return Op.Swap64;
            case Operation.Ja or Operation.Ja32: return Op.Ja;
            case >= Operation.Jeq and <= Operation.Jsle:
                return (Op)((int)(insn.Is64 ? Op.JeqImm : Op.Jeq32Imm) + (2 * (insn.Operation - Operation.Jeq)) + source);
            case Operation.CallHelper: return Op.CallHelper;
            case Operation.CallLocal: return Op.CallLocal;
            case Operation.CallX: return Op.CallX;
            case Operation.Lddw: return Op.Lddw;
            case Operation.LoadAbsolute: return (Op)((int)Op.LdAbsB + size);
            case Operation.LoadIndirect: return (Op)((int)Op.LdIndB + size);
            case Operation.Load: return (Op)((int)Op.LdxB + size);
            case Operation.LoadSignExtend: return (Op)((int)Op.LdxsB + size);
            case Operation.Store: return (Op)((int)(insn.HasRegisterSource ? Op.StxB : Op.StB) + size);
            case >= Operation.AtomicAdd: return insn.Is64 ? Op.Atomic64 : Op.Atomic32;
            default:
                // exit, and the second slot of an lddw (never executed: jumps cannot land there and lddw skips it).
                return Op.Exit;
        }
    }
}
