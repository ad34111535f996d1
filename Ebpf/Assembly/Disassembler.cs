using System.Globalization;
using System.Text;
using Ebpf.Isa;

namespace Ebpf.Assembly;

/// <summary>
/// Turns bytes or instruction slots into canonical assembly text (see <see cref="InstructionFormatter"/>): a listing
/// with pc, raw bytes and text, the plain text (which <see cref="Assembler"/> reads back to identical bytes), or a
/// dump for people. Never throws on bad input: unknown or malformed slots print as <c>.slot</c> directives and a
/// length that is not a multiple of eight ends with a comment naming the trailing bytes.
/// </summary>
public static class Disassembler
{
    /// <summary>The listing of a program given as bytes.</summary>
    /// <param name="code">The program bytes (any length).</param>
    public static IReadOnlyList<DisassembledInstruction> Disassemble(ReadOnlySpan<byte> code)
    {
        int whole = code.Length - (code.Length % Instruction.SlotSize);
        var slots = Instruction.DecodeAll(code[..whole]);
        var lines = List(slots);
        if (whole != code.Length)
        {
            var tail = code[whole..].ToArray();
            lines.Add(new DisassembledInstruction(
                slots.Length,
                0,
                tail,
                $"# {tail.Length} trailing byte(s) that do not form an instruction: {Convert.ToHexString(tail).ToLowerInvariant()}"));
        }

        return lines;
    }

    /// <summary>The listing of a program given as instruction slots.</summary>
    /// <param name="code">The slots.</param>
    public static IReadOnlyList<DisassembledInstruction> Disassemble(ReadOnlySpan<Instruction> code) => List(code);

    /// <summary>The canonical text of a program: one instruction per line, which the assembler reads back to the same bytes.</summary>
    /// <param name="code">The program bytes (any length; trailing bytes appear as a comment).</param>
    public static string ToText(ReadOnlySpan<byte> code) => JoinText(Disassemble(code));

    /// <summary>The canonical text of a program given as slots: one instruction per line.</summary>
    /// <param name="code">The slots.</param>
    public static string ToText(ReadOnlySpan<Instruction> code) => JoinText(List(code));

    /// <summary>A human-readable dump: pc, raw bytes in hex, and the text of each instruction (an <c>lddw</c> shows its second slot on the next line).</summary>
    /// <param name="code">The program bytes (any length).</param>
    public static string Dump(ReadOnlySpan<byte> code) => Dump(code, line => line.Text);

    /// <summary>The layout of <see cref="Dump(ReadOnlySpan{byte})"/> with the text of each line chosen by <paramref name="text"/>.</summary>
    internal static string Dump(ReadOnlySpan<byte> code, Func<DisassembledInstruction, string> text)
    {
        var sb = new StringBuilder();
        foreach (var line in Disassemble(code))
        {
            int slots = Math.Max(line.SlotCount, 1);
            for (int s = 0; s < slots; s++)
            {
                int from = s * Instruction.SlotSize;
                var bytes = line.Bytes.AsSpan(from, Math.Min(Instruction.SlotSize, line.Bytes.Length - from));
                string hex = string.Join(' ', bytes.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
                sb.Append((line.Pc + s).ToString(CultureInfo.InvariantCulture).PadLeft(5))
                    .Append(": ")
                    .Append(hex.PadRight((Instruction.SlotSize * 3) - 1));
                if (s == 0)
                {
                    sb.Append("  ").Append(text(line));
                }

                sb.Append('\n');
            }
        }

        return sb.ToString();
    }

    private static List<DisassembledInstruction> List(ReadOnlySpan<Instruction> code)
    {
        var lines = new List<DisassembledInstruction>(code.Length);
        for (int pc = 0; pc < code.Length; pc++)
        {
            var insn = code[pc];
            if (insn.IsWide && pc + 1 < code.Length && InstructionFormatter.TryFormatWide(insn, code[pc + 1], out string? wide))
            {
                lines.Add(new DisassembledInstruction(pc, 2, Instruction.EncodeAll(code.Slice(pc, 2)), wide!));
                pc++;
                continue;
            }

            lines.Add(new DisassembledInstruction(pc, 1, insn.ToBytes(), InstructionFormatter.Format(insn)));
        }

        return lines;
    }

    private static string JoinText(IReadOnlyList<DisassembledInstruction> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            sb.Append(line.Text).Append('\n');
        }

        return sb.ToString();
    }
}
