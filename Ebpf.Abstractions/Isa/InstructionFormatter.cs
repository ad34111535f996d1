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
        if (!first.IsWide || !InstructionDecoder.TryDecode([first, second], 0, out var lddw, out _) || lddw.NonZeroUnusedFields != InstructionFields.None
            || second.OpCode != 0 || second.Dst != 0 || second.Src != 0 || second.Offset != 0)
        {
            return false;
        }

        ulong value = lddw.Value;
        string? keyword = Mnemonics.LddwSourceKeyword(lddw.PseudoSource);
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
        if (!InstructionDecoder.TryDecode([i], 0, out var d, out problem))
        {
            return false;
        }

        if (d.NonZeroUnusedFields != InstructionFields.None)
        {
            problem = "opcode 0x" + i.OpCode.ToString("x2", CultureInfo.InvariantCulture) + " with fields its assembly form cannot express";
            return false;
        }

        text = Text(d);
        return true;
    }

    private static string Text(in DecodedInstruction d)
    {
        var i = d.Raw;
        string width = d.Is64 ? "64" : "32";
        string jumpSuffix = d.Is64 ? string.Empty : "32";
        string operand = d.HasRegisterSource ? Reg(d.Src) : Immediate(d.Imm);
        string size = Mnemonics.Size(i.AccessSize);
        string atomicSuffix = d.Is64 ? string.Empty : "32";
        return d.Operation switch
        {
            Operation.Neg => $"neg{width} {Reg(d.Dst)}",
            >= Operation.MovSx8 and <= Operation.MovSx32 => $"movsx{Number(d.Offset)}{width} {Reg(d.Dst)}, {Reg(d.Src)}",
            >= Operation.Add and <= Operation.Mov => $"{Mnemonics.Alu(i.AluOperation, d.Operation is Operation.SDiv or Operation.SMod)}{width} {Reg(d.Dst)}, {operand}",
            >= Operation.Le16 and <= Operation.Le64 => $"le{Number(d.Imm)} {Reg(d.Dst)}",
            >= Operation.Be16 and <= Operation.Be64 => $"be{Number(d.Imm)} {Reg(d.Dst)}",
            >= Operation.Bswap16 and <= Operation.Bswap64 => $"bswap{Number(d.Imm)} {Reg(d.Dst)}",
            Operation.Ja => $"ja {Jump(d.Offset)}",
            Operation.Ja32 => $"ja32 {Jump(d.Imm)}",
            >= Operation.Jeq and <= Operation.Jsle => $"{Mnemonics.Jump(i.JumpOperation)}{jumpSuffix} {Reg(d.Dst)}, {operand}, {Jump(d.Offset)}",
            Operation.CallHelper => "call " + Number(d.Imm),
            Operation.CallLocal => $"call local {Jump(d.Imm)}",
            Operation.CallX => $"callx {Reg(d.Dst)}",
            Operation.Exit => "exit",
            Operation.LoadAbsolute => $"ldabs{size} {Immediate(d.Imm)}",
            Operation.LoadIndirect => $"ldind{size} {Reg(d.Src)}, {Immediate(d.Imm)}",
            Operation.Load => $"ldx{size} {Reg(d.Dst)}, {Memory(d.Src, d.Offset)}",
            Operation.LoadSignExtend => $"ldxs{size} {Reg(d.Dst)}, {Memory(d.Src, d.Offset)}",
            Operation.Store when d.HasRegisterSource => $"stx{size} {Memory(d.Dst, d.Offset)}, {Reg(d.Src)}",
            Operation.Store => $"st{size} {Memory(d.Dst, d.Offset)}, {Immediate(d.Imm)}",
            _ => $"lock {Mnemonics.Atomic((AtomicOperation)d.Imm)}{atomicSuffix} {Memory(d.Dst, d.Offset)}, {Reg(d.Src)}",
        };
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
