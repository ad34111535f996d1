using System.Globalization;

namespace Ebpf.Isa;

/// <summary>
/// Formats instruction slots as canonical assembly text: exactly one text per slot (or per <c>lddw</c> pair), which
/// the assembler (<c>Ebpf.Assembly.Assembler</c>) reads back to identical bytes.
/// </summary>
/// <remarks>
/// The canonical form uses the rbpf/uBPF dialect with explicit widths:
/// <list type="bullet">
/// <item>registers <c>r0</c>..<c>r10</c>; ALU mnemonics always carry the width: <c>add64 r1, 0x5</c>, <c>mov32 r0, r1</c>,
/// <c>sdiv64</c>, <c>smod32</c>, <c>neg64 r2</c>, <c>movsx1664 r0, r1</c>, <c>le16 r0</c>, <c>be32 r0</c>, <c>bswap64 r0</c>;</item>
/// <item>immediates in hex with a sign when negative (<c>0x2a</c>, <c>-0x1</c>); helper ids in decimal (<c>call 1</c>);</item>
/// <item>memory operands <c>[r1]</c>, <c>[r1+2]</c>, <c>[r10-8]</c> with a decimal offset: <c>ldxw r0, [r1+2]</c>,
/// <c>ldxsh r0, [r10-2]</c>, <c>stw [r1+2], 0x5</c>, <c>stxdw [r10-8], r1</c>;</item>
/// <item>jumps with a signed decimal slot offset: <c>ja +2</c>, <c>jeq r1, 0x5, -3</c>, <c>jne32 r1, r2, +0</c>,
/// <c>ja32 +100000</c>; local calls <c>call local +4</c>; <c>callx r2</c>; <c>exit</c>;</item>
/// <item><c>lddw r0, 0x1122334455667788</c> for a pair of slots, with a pseudo source keyword when the source is not 0
/// (<c>lddw r1, map_by_fd 0x3</c>, see <see cref="Mnemonics.LddwSourceKeyword"/>);</item>
/// <item>legacy packet loads <c>ldabsw 0x10</c>, <c>ldindb r1, 0x2</c>; atomics <c>lock add32 [r10-8], r1</c>,
/// <c>lock fetch or [r1+0], r2</c>, <c>lock xchg [r1], r2</c>, <c>lock cmpxchg32 [r1], r2</c> (64-bit without a suffix);</item>
/// <item>anything else (an unknown opcode, a register above r10, a nonzero field the form above cannot express, an
/// <c>lddw</c> slot on its own) as the raw directive <c>.slot 0x0000000100000095</c> (the slot's eight bytes read as a
/// little-endian 64-bit word, like the conformance <c>raw</c> section) followed by a <c>#</c> comment saying why.</item>
/// </list>
/// </remarks>
public static class InstructionFormatter
{
    /// <summary>The directive that writes one raw slot: <c>.slot</c> followed by a 64-bit word.</summary>
    public const string SlotDirective = ".slot";

    /// <summary>The canonical text of one slot. Never throws; a slot that is no complete instruction prints as <see cref="SlotDirective"/>.</summary>
    public static string Format(in Instruction instruction)
    {
        if (instruction.IsWide)
        {
            return FormatRaw(instruction, $"first slot of lddw {Reg(instruction.Dst)} (low half {Immediate((uint)instruction.Imm)})");
        }

        return TryFormatSingle(instruction, out string? text, out string? problem) ? text! : FormatRaw(instruction, problem!);
    }

    /// <summary>
    /// The canonical text of an instruction given with the slot that follows it: an <c>lddw</c> pair prints as one
    /// line covering both slots; any other instruction prints as <see cref="Format(in Instruction)"/> of the first slot.
    /// </summary>
    public static string Format(in Instruction first, in Instruction second) =>
        TryFormatWide(first, second, out string? text) ? text! : Format(first);

    /// <summary>Formats an <c>lddw</c> pair when <paramref name="first"/> and <paramref name="second"/> form a valid one.</summary>
    /// <param name="first">The first slot (opcode <c>0x18</c>).</param>
    /// <param name="second">The second slot (only its immediate may be nonzero).</param>
    /// <param name="text">The text, when the pair is valid.</param>
    /// <returns>True when the two slots form a complete <c>lddw</c> that the canonical form expresses.</returns>
    public static bool TryFormatWide(in Instruction first, in Instruction second, out string? text)
    {
        text = null;
        if (!first.IsWide || first.Offset != 0 || first.Dst > 10 || first.Src > (byte)LddwSource.MapValueByIndex
            || second.OpCode != 0 || second.Dst != 0 || second.Src != 0 || second.Offset != 0)
        {
            return false;
        }

        ulong value = ((ulong)(uint)second.Imm << 32) | (uint)first.Imm;
        string? keyword = Mnemonics.LddwSourceKeyword((LddwSource)first.Src);
        text = keyword is null
            ? $"lddw {Reg(first.Dst)}, 0x{value:x}"
            : $"lddw {Reg(first.Dst)}, {keyword} 0x{value:x}";
        return true;
    }

    /// <summary>The raw directive for one slot, with a comment giving the reason when one is given.</summary>
    public static string FormatRaw(in Instruction instruction, string? reason = null) =>
        reason is null
            ? $"{SlotDirective} 0x{instruction.ToRaw():x16}"
            : $"{SlotDirective} 0x{instruction.ToRaw():x16} # {reason}";

    /// <summary>Formats a signed 32-bit immediate the canonical way: hex, with a minus sign when negative.</summary>
    public static string Immediate(long value) =>
        value < 0 ? "-0x" + (-value).ToString("x", CultureInfo.InvariantCulture) : "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Reg(int r) => "r" + r.ToString(CultureInfo.InvariantCulture);

    private static string Jump(long offset) =>
        offset < 0 ? offset.ToString(CultureInfo.InvariantCulture) : "+" + offset.ToString(CultureInfo.InvariantCulture);

    private static string Memory(int reg, short offset) => offset switch
    {
        0 => $"[{Reg(reg)}]",
        > 0 => $"[{Reg(reg)}+{offset.ToString(CultureInfo.InvariantCulture)}]",
        _ => $"[{Reg(reg)}{offset.ToString(CultureInfo.InvariantCulture)}]",
    };

    private static bool TryFormatSingle(in Instruction i, out string? text, out string? problem)
    {
        text = null;
        if (!OpCodeTable.IsDefined(i.OpCode))
        {
            problem = $"unknown opcode 0x{i.OpCode:x2}";
            return false;
        }

        if (i.Dst > 10 || i.Src > 10)
        {
            problem = $"register r{Math.Max(i.Dst, i.Src)} does not exist";
            return false;
        }

        problem = "opcode 0x" + i.OpCode.ToString("x2", CultureInfo.InvariantCulture) + " with fields its assembly form cannot express";
        text = i.Class switch
        {
            InstructionClass.Alu or InstructionClass.Alu64 => FormatAlu(i),
            InstructionClass.Jmp or InstructionClass.Jmp32 => FormatJump(i),
            InstructionClass.Ld => FormatLegacyLoad(i),
            InstructionClass.Ldx => FormatLoad(i),
            InstructionClass.St => i.Src == 0 ? $"st{Mnemonics.Size(i.AccessSize)} {Memory(i.Dst, i.Offset)}, {Immediate(i.Imm)}" : null,
            _ => FormatStore(i),
        };
        return text is not null;
    }

    private static string? FormatAlu(in Instruction i)
    {
        bool is64 = i.Class == InstructionClass.Alu64;
        string width = is64 ? "64" : "32";
        var op = i.AluOperation;
        if (op == AluOperation.Neg)
        {
            return i.Src == 0 && i.Offset == 0 && i.Imm == 0 ? $"neg{width} {Reg(i.Dst)}" : null;
        }

        if (op == AluOperation.End)
        {
            if (i.Src != 0 || i.Offset != 0 || i.Imm is not (16 or 32 or 64))
            {
                return null;
            }

            string name = i.OpCode switch { OpCodes.Le => "le", OpCodes.Be => "be", _ => "bswap" };
            return $"{name}{i.Imm.ToString(CultureInfo.InvariantCulture)} {Reg(i.Dst)}";
        }

        bool register = i.Source == OperandSource.Register;
        string? mnemonic;
        if (op == AluOperation.Mov && i.Offset != 0)
        {
            // movsx: register source, offset 8/16 (32-bit) or 8/16/32 (64-bit).
            bool valid = register && i.Imm == 0 && (i.Offset is 8 or 16 || (is64 && i.Offset == 32));
            return valid ? $"movsx{i.Offset.ToString(CultureInfo.InvariantCulture)}{width} {Reg(i.Dst)}, {Reg(i.Src)}" : null;
        }

        if (op is AluOperation.Div or AluOperation.Mod && i.Offset == 1)
        {
            mnemonic = Mnemonics.Alu(op, isSigned: true);
        }
        else if (i.Offset == 0)
        {
            mnemonic = Mnemonics.Alu(op);
        }
        else
        {
            return null;
        }

        if (register)
        {
            return i.Imm == 0 ? $"{mnemonic}{width} {Reg(i.Dst)}, {Reg(i.Src)}" : null;
        }

        return i.Src == 0 ? $"{mnemonic}{width} {Reg(i.Dst)}, {Immediate(i.Imm)}" : null;
    }

    private static string? FormatJump(in Instruction i)
    {
        switch (i.OpCode)
        {
            case OpCodes.Ja:
                return i.Dst == 0 && i.Src == 0 && i.Imm == 0 ? $"ja {Jump(i.Offset)}" : null;
            case OpCodes.Ja32:
                return i.Dst == 0 && i.Src == 0 && i.Offset == 0 ? $"ja32 {Jump(i.Imm)}" : null;
            case OpCodes.Exit:
                return i.Dst == 0 && i.Src == 0 && i.Offset == 0 && i.Imm == 0 ? "exit" : null;
            case OpCodes.CallX:
                return i.Src == 0 && i.Offset == 0 && i.Imm == 0 ? $"callx {Reg(i.Dst)}" : null;
            case OpCodes.Call:
                if (i.Dst != 0 || i.Offset != 0)
                {
                    return null;
                }

                return i.Src switch
                {
                    0 => "call " + i.Imm.ToString(CultureInfo.InvariantCulture),
                    1 => $"call local {Jump(i.Imm)}",
                    _ => null,
                };
        }

        string suffix = i.Class == InstructionClass.Jmp32 ? "32" : string.Empty;
        string name = Mnemonics.Jump(i.JumpOperation) + suffix;
        if (i.Source == OperandSource.Register)
        {
            return i.Imm == 0 ? $"{name} {Reg(i.Dst)}, {Reg(i.Src)}, {Jump(i.Offset)}" : null;
        }

        return i.Src == 0 ? $"{name} {Reg(i.Dst)}, {Immediate(i.Imm)}, {Jump(i.Offset)}" : null;
    }

    private static string? FormatLegacyLoad(in Instruction i)
    {
        string size = Mnemonics.Size(i.AccessSize);
        if (i.Dst != 0 || i.Offset != 0)
        {
            return null;
        }

        if (i.AccessMode == AccessMode.Absolute)
        {
            return i.Src == 0 ? $"ldabs{size} {Immediate(i.Imm)}" : null;
        }

        return $"ldind{size} {Reg(i.Src)}, {Immediate(i.Imm)}";
    }

    private static string? FormatLoad(in Instruction i)
    {
        if (i.Imm != 0)
        {
            return null;
        }

        string name = i.AccessMode == AccessMode.MemorySignExtend ? "ldxs" : "ldx";
        return $"{name}{Mnemonics.Size(i.AccessSize)} {Reg(i.Dst)}, {Memory(i.Src, i.Offset)}";
    }

    private static string? FormatStore(in Instruction i)
    {
        if (i.AccessMode == AccessMode.Atomic)
        {
            string? op = Mnemonics.Atomic((AtomicOperation)i.Imm);
            if (op is null)
            {
                return null;
            }

            string suffix = i.AccessSize == AccessSize.Word ? "32" : string.Empty;
            return $"lock {op}{suffix} {Memory(i.Dst, i.Offset)}, {Reg(i.Src)}";
        }

        return i.Imm == 0 ? $"stx{Mnemonics.Size(i.AccessSize)} {Memory(i.Dst, i.Offset)}, {Reg(i.Src)}" : null;
    }
}
