using Ebpf.Helpers;
using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Interpreter;

/// <summary>
/// Turns a verified program into the interpreter's pre-decoded form, one <see cref="DecodedInstruction"/> per slot
/// (so a slot's index is its pc), resolving jump targets, <c>lddw</c> values and helpers once, at compile time.
/// Encodings the structural checks let through but the instruction set does not define (a byte swap of width 24, an
/// unknown atomic operation, an <c>sdiv</c> offset of 2, ...) are rejected here with a compilation error.
/// </summary>
internal static class Decoder
{
    /// <summary>Decodes <paramref name="program"/>; <paramref name="helpers"/> receives the helpers its calls name.</summary>
    /// <exception cref="EbpfUnknownHelperException">A <c>call</c> names a helper id the environment lacks.</exception>
    /// <exception cref="EbpfCompilationException">An encoding the interpreter does not define, or an unresolvable <c>lddw</c>.</exception>
    public static DecodedInstruction[] Decode(EbpfProgram program, ProgramEnvironment environment, List<Helper> helpers)
    {
        var code = program.Instructions;
        var decoded = GC.AllocateArray<DecodedInstruction>(code.Length, pinned: true);
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                // Never executed: jumps cannot land here and lddw skips it.
                decoded[pc] = new DecodedInstruction { Op = Op.Exit };
                continue;
            }

            var insn = code[pc];
            var d = new DecodedInstruction { Dst = insn.Dst, Src = insn.Src, Imm = insn.Imm, Target = insn.Offset };
            d.Op = insn.Class switch
            {
                InstructionClass.Alu64 => Alu64(insn, pc, ref d),
                InstructionClass.Alu => Alu32(insn, pc, ref d),
                InstructionClass.Jmp or InstructionClass.Jmp32 => Jump(insn, pc, ref d, program, environment, helpers),
                InstructionClass.Ld => Ld(insn, pc, ref d, program, environment),
                InstructionClass.Ldx => Ldx(insn, pc),
                InstructionClass.St => Store(insn, pc, StoreImmOps),
                _ => insn.AccessMode == AccessMode.Atomic ? Atomic(insn, pc) : Store(insn, pc, StoreRegOps),
            };
            decoded[pc] = d;
        }

        return decoded;
    }

    private static readonly Op[] StoreImmOps = [Op.StW, Op.StH, Op.StB, Op.StDW];
    private static readonly Op[] StoreRegOps = [Op.StxW, Op.StxH, Op.StxB, Op.StxDW];

    private static int SizeIndex(Instruction insn) => (int)insn.AccessSize >> 3;

    private static EbpfCompilationException Undefined(int pc, Instruction insn, string what) =>
        new(InterpreterEngine.EngineName, pc, insn, what);

    private static Op Alu64(Instruction insn, int pc, ref DecodedInstruction d)
    {
        bool reg = insn.Source == OperandSource.Register;
        var op = insn.AluOperation;
        if (op is AluOperation.Div or AluOperation.Mod && insn.Offset is not (0 or 1))
        {
            throw Undefined(pc, insn, $"offset {insn.Offset} of a 64-bit {op.ToString().ToLowerInvariant()} must be 0 (unsigned) or 1 (signed)");
        }

        if (op is AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh)
        {
            d.Imm = insn.Imm & 63;
        }

        bool signed = insn.Offset == 1;
        switch (op)
        {
            case AluOperation.Add: return reg ? Op.Add64Reg : Op.Add64Imm;
            case AluOperation.Sub: return reg ? Op.Sub64Reg : Op.Sub64Imm;
            case AluOperation.Mul: return reg ? Op.Mul64Reg : Op.Mul64Imm;
            case AluOperation.Div: return signed ? (reg ? Op.SDiv64Reg : Op.SDiv64Imm) : (reg ? Op.Div64Reg : Op.Div64Imm);
            case AluOperation.Mod: return signed ? (reg ? Op.SMod64Reg : Op.SMod64Imm) : (reg ? Op.Mod64Reg : Op.Mod64Imm);
            case AluOperation.Or: return reg ? Op.Or64Reg : Op.Or64Imm;
            case AluOperation.And: return reg ? Op.And64Reg : Op.And64Imm;
            case AluOperation.Xor: return reg ? Op.Xor64Reg : Op.Xor64Imm;
            case AluOperation.Lsh: return reg ? Op.Lsh64Reg : Op.Lsh64Imm;
            case AluOperation.Rsh: return reg ? Op.Rsh64Reg : Op.Rsh64Imm;
            case AluOperation.Arsh: return reg ? Op.Arsh64Reg : Op.Arsh64Imm;
            case AluOperation.Neg: return Op.Neg64;
            case AluOperation.Mov:
                if (!reg)
                {
                    return insn.Offset == 0 ? Op.Mov64Imm : throw Undefined(pc, insn, Invariant($"offset {insn.Offset} of mov with an immediate must be 0"));
                }

                return insn.Offset switch
                {
                    0 => Op.Mov64Reg,
                    8 => Op.MovSx64B,
                    16 => Op.MovSx64H,
                    32 => Op.MovSx64W,
                    _ => throw Undefined(pc, insn, Invariant($"offset {insn.Offset} of a 64-bit mov must be 0, 8, 16 or 32")),
                };
            default:
                // bswap16/32/64 (class ALU64, opcode 0xd7): an unconditional swap.
                return insn.Imm switch
                {
                    16 => Op.Swap16,
                    32 => Op.Swap32,
                    64 => Op.Swap64,
                    _ => throw Undefined(pc, insn, Invariant($"bswap width {insn.Imm} must be 16, 32 or 64")),
                };
        }
    }

    private static Op Alu32(Instruction insn, int pc, ref DecodedInstruction d)
    {
        bool reg = insn.Source == OperandSource.Register;
        var op = insn.AluOperation;
        if (op is AluOperation.Div or AluOperation.Mod && insn.Offset is not (0 or 1))
        {
            throw Undefined(pc, insn, $"offset {insn.Offset} of a 32-bit {op.ToString().ToLowerInvariant()} must be 0 (unsigned) or 1 (signed)");
        }

        if (op is AluOperation.Lsh or AluOperation.Rsh or AluOperation.Arsh)
        {
            d.Imm = insn.Imm & 31;
        }

        bool signed = insn.Offset == 1;
        switch (op)
        {
            case AluOperation.Add: return reg ? Op.Add32Reg : Op.Add32Imm;
            case AluOperation.Sub: return reg ? Op.Sub32Reg : Op.Sub32Imm;
            case AluOperation.Mul: return reg ? Op.Mul32Reg : Op.Mul32Imm;
            case AluOperation.Div: return signed ? (reg ? Op.SDiv32Reg : Op.SDiv32Imm) : (reg ? Op.Div32Reg : Op.Div32Imm);
            case AluOperation.Mod: return signed ? (reg ? Op.SMod32Reg : Op.SMod32Imm) : (reg ? Op.Mod32Reg : Op.Mod32Imm);
            case AluOperation.Or: return reg ? Op.Or32Reg : Op.Or32Imm;
            case AluOperation.And: return reg ? Op.And32Reg : Op.And32Imm;
            case AluOperation.Xor: return reg ? Op.Xor32Reg : Op.Xor32Imm;
            case AluOperation.Lsh: return reg ? Op.Lsh32Reg : Op.Lsh32Imm;
            case AluOperation.Rsh: return reg ? Op.Rsh32Reg : Op.Rsh32Imm;
            case AluOperation.Arsh: return reg ? Op.Arsh32Reg : Op.Arsh32Imm;
            case AluOperation.Neg: return Op.Neg32;
            case AluOperation.Mov:
                if (!reg)
                {
                    return insn.Offset == 0 ? Op.Mov32Imm : throw Undefined(pc, insn, Invariant($"offset {insn.Offset} of mov32 with an immediate must be 0"));
                }

                return insn.Offset switch
                {
                    0 => Op.Mov32Reg,
                    8 => Op.MovSx32B,
                    16 => Op.MovSx32H,
                    _ => throw Undefined(pc, insn, Invariant($"offset {insn.Offset} of a 32-bit mov must be 0, 8 or 16")),
                };
            default:
                // le (source bit 0) / be (source bit 1), width in the immediate; the host is little-endian.
                bool toBig = reg;
                return insn.Imm switch
                {
                    16 => toBig ? Op.Swap16 : Op.ZeroExtend16,
                    32 => toBig ? Op.Swap32 : Op.ZeroExtend32,
                    64 => toBig ? Op.Swap64 : Op.Nop,
                    _ => throw Undefined(pc, insn, Invariant($"byte swap width {insn.Imm} must be 16, 32 or 64")),
                };
        }
    }

    private static Op Jump(Instruction insn, int pc, ref DecodedInstruction d, EbpfProgram program, ProgramEnvironment environment, List<Helper> helpers)
    {
        switch (insn.OpCode)
        {
            case OpCodes.Ja:
            case OpCodes.Ja32:
                d.Target = (int)OpCodeTable.JumpTarget(insn, pc);
                return Op.Ja;
            case OpCodes.Exit:
                return Op.Exit;
            case OpCodes.CallX:
                return Op.CallX;
            case OpCodes.Call:
                if (insn.Src == 1)
                {
                    d.Target = pc + 1 + insn.Imm;
                    return Op.CallLocal;
                }

                if (insn.Src != 0)
                {
                    throw Undefined(pc, insn, $"call with source {insn.Src} is not supported (0: helper, 1: local function)");
                }

                var helper = environment.ResolveHelper(InterpreterEngine.EngineName, program, pc);
                int index = helpers.IndexOf(helper);
                if (index < 0)
                {
                    index = helpers.Count;
                    helpers.Add(helper);
                }

                d.Target = index;
                return Op.CallHelper;
        }

        d.Target = (int)OpCodeTable.JumpTarget(insn, pc);
        bool reg = insn.Source == OperandSource.Register;
        bool wide = insn.Class == InstructionClass.Jmp;
        int k = insn.JumpOperation switch
        {
            JumpOperation.Jeq => 0,
            JumpOperation.Jgt => 1,
            JumpOperation.Jge => 2,
            JumpOperation.Jset => 3,
            JumpOperation.Jne => 4,
            JumpOperation.Jsgt => 5,
            JumpOperation.Jsge => 6,
            JumpOperation.Jlt => 7,
            JumpOperation.Jle => 8,
            JumpOperation.Jslt => 9,
            JumpOperation.Jsle => 10,
            _ => throw Undefined(pc, insn, $"unknown jump operation 0x{insn.OpCode:x2}"),
        };
        return (Op)((int)(wide ? Op.JeqImm : Op.Jeq32Imm) + (2 * k) + (reg ? 1 : 0));
    }

    private static Op Ld(Instruction insn, int pc, ref DecodedInstruction d, EbpfProgram program, ProgramEnvironment environment)
    {
        if (insn.OpCode == OpCodes.Lddw)
        {
            d.Imm = (long)environment.ResolveLddw(InterpreterEngine.EngineName, program, pc);
            return Op.Lddw;
        }

        // Legacy packet loads: the immediate is the offset (kept in Imm).
        int size = SizeIndex(insn);
        return insn.AccessMode == AccessMode.Absolute
            ? (Op)((int)Op.LdAbsB + AbsSizeOrder[size])
            : (Op)((int)Op.LdIndB + AbsSizeOrder[size]);
    }

    /// <summary>Maps the size index (W, H, B, DW) to the order B, H, W, DW of the op codes.</summary>
    private static readonly int[] AbsSizeOrder = [2, 1, 0, 3];

    private static Op Ldx(Instruction insn, int pc)
    {
        int order = AbsSizeOrder[SizeIndex(insn)];
        if (insn.AccessMode == AccessMode.MemorySignExtend)
        {
            return order < 3 ? (Op)((int)Op.LdxsB + order) : throw Undefined(pc, insn, "there is no sign-extending doubleword load");
        }

        return insn.AccessMode == AccessMode.Memory
            ? (Op)((int)Op.LdxB + order)
            : throw Undefined(pc, insn, $"load mode 0x{(byte)insn.AccessMode:x2} is not defined for class LDX");
    }

    private static Op Store(Instruction insn, int pc, Op[] ops) =>
        insn.AccessMode == AccessMode.Memory
            ? ops[SizeIndex(insn)]
            : throw Undefined(pc, insn, $"store mode 0x{(byte)insn.AccessMode:x2} is not defined");

    private static Op Atomic(Instruction insn, int pc)
    {
        if (!Enum.IsDefined((AtomicOperation)insn.Imm))
        {
            throw Undefined(pc, insn, $"unknown atomic operation 0x{insn.Imm:x}");
        }

        return insn.AccessSize switch
        {
            AccessSize.Word => Op.Atomic32,
            AccessSize.DoubleWord => Op.Atomic64,
            _ => throw Undefined(pc, insn, "atomic operations are 32 or 64 bits wide"),
        };
    }
}
