using System.Globalization;

namespace Ebpf.Isa;

/// <summary>
/// Decodes instruction slots into <see cref="DecodedInstruction"/>s and decides which encodings are defined: the one
/// place that reads opcode bits, widths, sources, offsets that select an operation (<c>sdiv</c>, <c>movsx</c>), byte
/// swap widths, call kinds, atomic operations and <c>lddw</c> sources. <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/>
/// runs it on every program whatever verifier is plugged in, so the engines only see defined encodings.
/// </summary>
public static class InstructionDecoder
{
    private const string AtomicOperations =
        "add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1";

    /// <summary>Decodes the instruction at <paramref name="pc"/> (an <c>lddw</c> also reads the next slot).</summary>
    /// <param name="code">The program's slots.</param>
    /// <param name="pc">The slot to decode.</param>
    /// <param name="decoded">The decoded instruction, when the encoding is defined.</param>
    /// <param name="problem">Why the encoding is not defined, otherwise.</param>
    /// <returns>True when the slot holds a defined instruction.</returns>
    public static bool TryDecode(ReadOnlySpan<Instruction> code, int pc, out DecodedInstruction decoded, out string? problem)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pc);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pc, code.Length);
        var insn = code[pc];
        decoded = default;
        problem = Check(insn);
        if (problem is null)
        {
            problem = insn.Class switch
            {
                InstructionClass.Alu or InstructionClass.Alu64 => Alu(insn, out decoded),
                InstructionClass.Jmp or InstructionClass.Jmp32 => Jump(insn, pc, out decoded),
                InstructionClass.Ld => Ld(code, pc, out decoded),
                _ => Memory(insn, out decoded),
            };
        }

        return problem is null;
    }

    /// <summary>Decodes the instruction at <paramref name="pc"/>.</summary>
    /// <exception cref="EbpfVerificationException">The encoding is not defined (the pc, the slot and the reason).</exception>
    public static DecodedInstruction Decode(ReadOnlySpan<Instruction> code, int pc) =>
        TryDecode(code, pc, out var decoded, out string? problem) ? decoded : throw new EbpfVerificationException(pc, code[pc], problem!);

    /// <summary>Decodes a whole program, one entry per slot (the second slot of an <c>lddw</c> gets <see cref="Operation.None"/>).</summary>
    /// <exception cref="EbpfVerificationException">The first slot whose encoding is not defined.</exception>
    public static DecodedInstruction[] DecodeProgram(ReadOnlySpan<Instruction> code)
    {
        var result = new DecodedInstruction[code.Length];
        for (int pc = 0; pc < code.Length; pc += result[pc].Length)
        {
            result[pc] = Decode(code, pc);
        }

        return result;
    }

    private static string? Check(in Instruction insn) =>
        !OpCodeTable.IsDefined(insn.OpCode) ? "unknown opcode 0x" + insn.OpCode.ToString("x2", CultureInfo.InvariantCulture)
        : insn.Dst > 10 ? $"destination register r{insn.Dst.ToString(CultureInfo.InvariantCulture)} does not exist (r0-r10)"
        : insn.Src > 10 ? $"source register r{insn.Src.ToString(CultureInfo.InvariantCulture)} does not exist (r0-r10)"
        : null;

    private static string Reject(in Instruction insn, string rule) => $"{InstructionNames.Of(insn)}: {rule}";

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? Alu(in Instruction insn, out DecodedInstruction decoded)
    {
        bool is64 = insn.Class == InstructionClass.Alu64;
        var source = insn.Source;
        bool register = source == OperandSource.Register;
        var operands = register ? InstructionFields.Imm : InstructionFields.Src;
        Operation op;
        var unused = operands | InstructionFields.Offset;
        decoded = default;
        switch (insn.AluOperation)
        {
            case AluOperation.Add: op = Operation.Add; break;
            case AluOperation.Sub: op = Operation.Sub; break;
            case AluOperation.Mul: op = Operation.Mul; break;
            case AluOperation.Or: op = Operation.Or; break;
            case AluOperation.And: op = Operation.And; break;
            case AluOperation.Xor: op = Operation.Xor; break;
            case AluOperation.Lsh: op = Operation.Lsh; break;
            case AluOperation.Rsh: op = Operation.Rsh; break;
            case AluOperation.Arsh: op = Operation.Arsh; break;
            case AluOperation.Neg:
                op = Operation.Neg;
                unused = InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm;
                break;
            case AluOperation.Div or AluOperation.Mod:
                bool div = insn.AluOperation == AluOperation.Div;
                op = (div, insn.Offset) switch
                {
                    (true, 0) => Operation.Div,
                    (true, 1) => Operation.SDiv,
                    (false, 0) => Operation.Mod,
                    (false, 1) => Operation.SMod,
                    _ => Operation.None,
                };
                if (op == Operation.None)
                {
                    string name = div ? "div" : "mod";
                    return Reject(insn, $"the offset must be 0 ({name}) or 1 (s{name}), but it is {Number(insn.Offset)}");
                }

                unused = operands;
                break;
            case AluOperation.Mov:
                op = !register ? Operation.Mov : insn.Offset switch
                {
                    0 => Operation.Mov,
                    8 => Operation.MovSx8,
                    16 => Operation.MovSx16,
                    32 when is64 => Operation.MovSx32,
                    _ => Operation.None,
                };
                if (op == Operation.None)
                {
                    return Reject(insn, is64
                        ? $"the offset must be 0 (mov) or 8, 16 or 32 (movsx), but it is {Number(insn.Offset)}"
                        : $"the offset must be 0 (mov32) or 8 or 16 (movsx32), but it is {Number(insn.Offset)}");
                }

                unused = register ? InstructionFields.Imm : InstructionFields.Src | InstructionFields.Offset;
                break;
            default:
                // le / be (class ALU, the source bit picks the order) and bswap (class ALU64); the width is the immediate.
                int width = insn.Imm switch { 16 => 0, 32 => 1, 64 => 2, _ => -1 };
                if (width < 0)
                {
                    return Reject(insn, $"the width (imm) must be 16, 32 or 64, but it is {Number(insn.Imm)}");
                }

                op = (Operation)((int)(is64 ? Operation.Bswap16 : register ? Operation.Be16 : Operation.Le16) + width);
                unused = InstructionFields.Src | InstructionFields.Offset;
                source = OperandSource.Immediate;
                break;
        }

        bool signed = op is Operation.SDiv or Operation.SMod or Operation.Arsh or (>= Operation.MovSx8 and <= Operation.MovSx32);
        decoded = new DecodedInstruction(op, insn, is64, source, signed, 0, -1, -1, 0, unused);
        return null;
    }

    private static string? Jump(in Instruction insn, int pc, out DecodedInstruction decoded)
    {
        bool is64 = insn.Class == InstructionClass.Jmp;
        decoded = default;
        Operation op;
        InstructionFields unused;
        long relative = insn.Offset;
        switch (insn.OpCode)
        {
            case OpCodes.Ja:
                op = Operation.Ja;
                unused = InstructionFields.Dst | InstructionFields.Src | InstructionFields.Imm;
                break;
            case OpCodes.Ja32:
                op = Operation.Ja32;
                relative = insn.Imm;
                unused = InstructionFields.Dst | InstructionFields.Src | InstructionFields.Offset;
                break;
            case OpCodes.Exit:
                op = Operation.Exit;
                unused = InstructionFields.Dst | InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm;
                break;
            case OpCodes.CallX:
                op = Operation.CallX;
                unused = InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm;
                break;
            case OpCodes.Call:
                op = insn.Src switch { 0 => Operation.CallHelper, 1 => Operation.CallLocal, _ => Operation.None };
                if (op == Operation.None)
                {
                    return Reject(insn, $"src {Number(insn.Src)} is not a supported call kind (0 = helper by id, 1 = local function; 2 = helper by BTF id is not supported)");
                }

                relative = insn.Imm;
                unused = InstructionFields.Dst | InstructionFields.Offset;
                break;
            default:
                op = (Operation)((int)Operation.Jeq + ConditionIndex(insn.JumpOperation));
                unused = insn.Source == OperandSource.Register ? InstructionFields.Imm : InstructionFields.Src;
                break;
        }

        int target = op is Operation.Exit or Operation.CallX or Operation.CallHelper ? -1 : (int)Math.Clamp(pc + 1L + relative, -1, int.MaxValue);
        bool signed = op is Operation.Jsgt or Operation.Jsge or Operation.Jslt or Operation.Jsle;
        var source = op is >= Operation.Jeq and <= Operation.Jsle ? insn.Source : OperandSource.Immediate;
        decoded = new DecodedInstruction(op, insn, is64, source, signed, 0, -1, target, 0, unused);
        return null;
    }

    /// <summary>The position of a condition in the run <see cref="Operation.Jeq"/>..<see cref="Operation.Jsle"/>.</summary>
    private static int ConditionIndex(JumpOperation condition) => condition switch
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
        _ => 10, // Jsle: the opcode table admits no other condition
    };

    private static string? Ld(ReadOnlySpan<Instruction> code, int pc, out DecodedInstruction decoded)
    {
        var insn = code[pc];
        decoded = default;
        if (insn.IsWide)
        {
            if (insn.Src > (byte)LddwSource.MapValueByIndex)
            {
                return Reject(insn, $"src {Number(insn.Src)} is not a defined source (0 = 64-bit immediate, 1-6 = pseudo sources)");
            }

            if (pc + 1 >= code.Length)
            {
                return "lddw is incomplete: its second slot is missing";
            }

            ulong value = (uint)insn.Imm | ((ulong)(uint)code[pc + 1].Imm << 32);
            decoded = new DecodedInstruction(Operation.Lddw, insn, true, OperandSource.Immediate, false, 0, -1, -1, value, InstructionFields.Offset);
            return null;
        }

        bool absolute = insn.AccessMode == AccessMode.Absolute;
        var unused = InstructionFields.Dst | InstructionFields.Offset | (absolute ? InstructionFields.Src : InstructionFields.None);
        var op = absolute ? Operation.LoadAbsolute : Operation.LoadIndirect;
        decoded = new DecodedInstruction(op, insn, false, OperandSource.Immediate, false, insn.AccessBytes, -1, -1, 0, unused);
        return null;
    }

    private static string? Memory(in Instruction insn, out DecodedInstruction decoded)
    {
        decoded = default;
        int size = insn.AccessBytes;
        switch (insn.Class)
        {
            case InstructionClass.Ldx:
                bool signed = insn.AccessMode == AccessMode.MemorySignExtend;
                var load = signed ? Operation.LoadSignExtend : Operation.Load;
                decoded = new DecodedInstruction(load, insn, size == 8, OperandSource.Register, signed, size, -1, -1, 0, InstructionFields.Imm);
                return null;
            case InstructionClass.St:
                decoded = new DecodedInstruction(Operation.Store, insn, size == 8, OperandSource.Immediate, false, size, -1, -1, 0, InstructionFields.Src);
                return null;
        }

        if (insn.AccessMode != AccessMode.Atomic)
        {
            decoded = new DecodedInstruction(Operation.Store, insn, size == 8, OperandSource.Register, false, size, -1, -1, 0, InstructionFields.Imm);
            return null;
        }

        var op = (AtomicOperation)insn.Imm switch
        {
            AtomicOperation.Add => Operation.AtomicAdd,
            AtomicOperation.Or => Operation.AtomicOr,
            AtomicOperation.And => Operation.AtomicAnd,
            AtomicOperation.Xor => Operation.AtomicXor,
            AtomicOperation.FetchAdd => Operation.AtomicFetchAdd,
            AtomicOperation.FetchOr => Operation.AtomicFetchOr,
            AtomicOperation.FetchAnd => Operation.AtomicFetchAnd,
            AtomicOperation.FetchXor => Operation.AtomicFetchXor,
            AtomicOperation.Exchange => Operation.AtomicExchange,
            AtomicOperation.CompareExchange => Operation.AtomicCompareExchange,
            _ => Operation.None,
        };
        if (op == Operation.None)
        {
            return Reject(insn, $"imm 0x{insn.Imm.ToString("x", CultureInfo.InvariantCulture)} is not an atomic operation ({AtomicOperations})");
        }

        // cmpxchg returns the old value in r0; the fetch forms and xchg in src; the others nowhere.
        int writeBack = op == Operation.AtomicCompareExchange ? 0 : op >= Operation.AtomicFetchAdd ? insn.Src : -1;
        decoded = new DecodedInstruction(op, insn, size == 8, OperandSource.Register, false, size, writeBack, -1, 0, InstructionFields.None);
        return null;
    }
}
