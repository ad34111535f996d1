using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Assembly;

/// <summary>
/// Reads eBPF assembly text in both common dialects and encodes it into instruction slots.
/// </summary>
/// <remarks>
/// <para>The rbpf/uBPF dialect: <c>mov r0, 1</c>, <c>add64 r1, 0x605</c>, <c>mov32 r0, r1</c>, <c>neg64 r1</c>,
/// <c>ldxh r0, [r1+2]</c>, <c>stw [r1+2], 5</c>, <c>stxdw [r1-8], r2</c>, <c>jeq r1, 5, +3</c>, <c>ja +2</c>,
/// <c>lddw r0, 0x1122334455667788</c>, <c>be16 r0</c>, <c>le32 r0</c>, <c>ldabsw 0x10</c>, <c>ldindb r1, 0x2</c>,
/// <c>call 1</c>, <c>exit</c>, and the legacy <c>stxxaddw</c>/<c>stxxadddw</c>.</para>
/// <para>The bpf_conformance dialect: <c>%rN</c> registers, <c>name:</c> labels used as jump targets (<c>exit</c> names
/// the first <c>exit</c> instruction unless a label of that name exists), <c>call local NAME</c>, <c>call %rN</c>
/// (callx), <c>lock [fetch] add|or|and|xor|xchg|cmpxchg[32] [%rX+off], %rY</c>, <c>movsx{8,16,32}{32,64}</c>,
/// <c>ldxs{b,h,w}</c>, <c>sdiv</c>/<c>smod</c>, <c>bswap16/32/64</c> (also <c>swap16/32/64</c>), <c>ja32</c>,
/// and the JMP32 forms <c>jeq32</c> etc.</para>
/// <para>Both: mnemonics without a width are 64-bit; comments start with <c>#</c>, <c>;</c> or <c>//</c>; immediates
/// are decimal or <c>0x</c> hex with an optional sign (32-bit immediates: -2147483648..2147483647 in decimal, up to
/// 0xffffffff in hex, which is the bit pattern; <c>lddw</c> takes any 64-bit value); offsets are signed 16-bit;
/// <c>.slot 0x...</c> writes one raw 64-bit slot word, so any byte sequence can be written as text. The canonical
/// form printed by <see cref="InstructionFormatter"/> and <see cref="Disassembler"/> is read back to identical bytes.</para>
/// <para>Every error is an <see cref="EbpfAssemblyException"/> with the line, the column and what was expected.</para>
/// </remarks>
public static class Assembler
{
    private const string ExitLabel = "exit";

    /// <summary>Assembles text into instruction slots (an <c>lddw</c> gives two).</summary>
    /// <param name="text">The assembly text.</param>
    /// <exception cref="EbpfAssemblyException">The text is not valid assembly (line, column and reason).</exception>
    public static Instruction[] Assemble(string text) => Assemble(text, 1);

    /// <summary>Assembles text into instruction slots, numbering lines from <paramref name="firstLineNumber"/> in errors.</summary>
    /// <param name="text">The assembly text.</param>
    /// <param name="firstLineNumber">The line number of the first line of <paramref name="text"/> (for text taken from a larger file).</param>
    /// <exception cref="EbpfAssemblyException">The text is not valid assembly (line, column and reason).</exception>
    public static Instruction[] Assemble(string text, int firstLineNumber)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<Instruction>();
        var fixups = new List<LabelFixup>();
        var labels = new Dictionary<string, (int Pc, int Line)>(StringComparer.Ordinal);
        int firstExit = -1;
        string[] lines = text.Split('\n');
        for (int index = 0; index < lines.Length; index++)
        {
            int lineNumber = firstLineNumber + index;
            var tokens = Lexer.Tokenize(lines[index].TrimEnd('\r'), lineNumber);
            int start = 0;
            while (start + 1 < tokens.Count && tokens[start].Kind == TokenKind.Identifier && tokens[start + 1].Kind == TokenKind.Colon)
            {
                var label = tokens[start];
                if (labels.TryGetValue(label.Text, out var previous))
                {
                    throw new EbpfAssemblyException(lineNumber, label.Column, $"label '{label.Text}' is already defined on line {previous.Line}");
                }

                labels.Add(label.Text, (output.Count, lineNumber));
                start += 2;
            }

            if (start >= tokens.Count)
            {
                continue;
            }

            var mnemonic = tokens[start];
            if (mnemonic.Kind != TokenKind.Identifier)
            {
                throw new EbpfAssemblyException(lineNumber, mnemonic.Column, $"expected a mnemonic or a label, found '{mnemonic.Text}'");
            }

            if (firstExit < 0 && mnemonic.Text.Equals(ExitLabel, StringComparison.OrdinalIgnoreCase))
            {
                firstExit = output.Count;
            }

            LineAssembler.Assemble(lineNumber, mnemonic, tokens.GetRange(start + 1, tokens.Count - start - 1), output, fixups);
        }

        foreach (var fixup in fixups)
        {
            int target;
            if (labels.TryGetValue(fixup.Label, out var label))
            {
                target = label.Pc;
            }
            else if (fixup.Label == ExitLabel && firstExit >= 0)
            {
                target = firstExit;
            }
            else
            {
                throw new EbpfAssemblyException(fixup.Line, fixup.Column, $"unknown label '{fixup.Label}'");
            }

            long distance = (long)target - fixup.Pc - 1;
            var insn = output[fixup.Pc];
            if (fixup.InImmediate)
            {
                output[fixup.Pc] = insn.WithImm((int)distance);
            }
            else if (distance is < short.MinValue or > short.MaxValue)
            {
                throw new EbpfAssemblyException(fixup.Line, fixup.Column, Invariant($"label '{fixup.Label}' is {distance} slots away: a jump offset must fit in 16 bits (-32768..32767); use ja32 for longer jumps"));
            }
            else
            {
                output[fixup.Pc] = insn.WithOffset((short)distance);
            }
        }

        return output.ToArray();
    }

    /// <summary>Assembles text into the bytes of the program (eight little-endian bytes per slot).</summary>
    /// <param name="text">The assembly text.</param>
    /// <exception cref="EbpfAssemblyException">The text is not valid assembly (line, column and reason).</exception>
    public static byte[] AssembleBytes(string text) => Instruction.EncodeAll(Assemble(text, 1));

    /// <summary>Assembles text into the bytes of the program, numbering lines from <paramref name="firstLineNumber"/> in errors.</summary>
    /// <param name="text">The assembly text.</param>
    /// <param name="firstLineNumber">The line number of the first line of <paramref name="text"/>.</param>
    /// <exception cref="EbpfAssemblyException">The text is not valid assembly (line, column and reason).</exception>
    public static byte[] AssembleBytes(string text, int firstLineNumber) => Instruction.EncodeAll(Assemble(text, firstLineNumber));
}
