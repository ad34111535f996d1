using System.Globalization;
using Ebpf.Diagnostics;
using Ebpf.Isa;

namespace Ebpf.Assembly;

/// <summary>
/// Formats instructions the way clang and <c>llvm-objdump -d</c> write eBPF: <c>r0 = *(u32 *)(r1 + 4)</c>,
/// <c>if r1 &gt; 5 goto +3</c>, <c>w0 += w1</c> for 32-bit ALU, <c>r1 = 1234 ll</c> for <c>lddw</c>,
/// <c>lock *(u64 *)(r1 + 0) += r2</c> and <c>r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)</c> for atomics. Immediates
/// are signed decimal. With a name for a relocated instruction (see <see cref="ProgramDebugInfo.SymbolAt"/>) an
/// <c>lddw</c> prints the map or global it loads (<c>r1 = protocol_counts ll</c>) and a call the function it calls.
/// Output only (the assembler reads the canonical form); a slot that is no valid instruction prints as the canonical
/// <c>.slot</c> directive.
/// </summary>
/// <remarks>
/// Differences from <c>llvm-objdump</c>: no <c>&lt;label&gt;</c> after jump offsets; a legacy indirect packet load
/// keeps its immediate (<c>skb[r1 + 2]</c>); an <c>lddw</c> with a pseudo source and no name prints as LLVM's
/// <c>ld_pseudo r1, 5, 0</c> with a space where LLVM puts a tab.
/// </remarks>
public static class LlvmSyntax
{
    /// <summary>The text of one slot (an <c>lddw</c> needs its second slot: use <see cref="Format(in Instruction, in Instruction, string?)"/>).</summary>
    public static string Format(in Instruction instruction)
    {
        string canonical = InstructionFormatter.Format(instruction);
        return IsRaw(canonical) ? canonical : FormatValid(instruction, default, null) ?? canonical;
    }

    /// <summary>The text of the instruction in <paramref name="first"/> (with <paramref name="second"/> when it is an <c>lddw</c>).</summary>
    /// <param name="first">The instruction's slot.</param>
    /// <param name="second">The slot after it (read only for <c>lddw</c>).</param>
    /// <param name="symbol">The name a relocation gave the instruction (map, global, function, helper), or null.</param>
    public static string Format(in Instruction first, in Instruction second, string? symbol = null)
    {
        string canonical = InstructionFormatter.Format(first, second);
        return IsRaw(canonical) ? canonical : FormatValid(first, second, symbol) ?? canonical;
    }

    /// <summary>
    /// A listing like <see cref="Disassembler.Dump(ReadOnlySpan{byte})"/>: pc, the slot's bytes and the LLVM text, with relocation targets
    /// named from <paramref name="info"/> when given.
    /// </summary>
    public static string Dump(ReadOnlySpan<byte> code, ProgramDebugInfo? info = null) =>
        Disassembler.Dump(code, line =>
        {
            if (line.SlotCount == 0)
            {
                return line.Text;
            }

            var slots = Instruction.DecodeAll(line.Bytes);
            return slots.Length > 1 ? Format(slots[0], slots[1], info?.SymbolAt(line.Pc)) : Format(slots[0], default, info?.SymbolAt(line.Pc));
        });

    private static bool IsRaw(string canonical) => canonical.StartsWith(InstructionFormatter.SlotDirective, StringComparison.Ordinal);

    /// <summary>The LLVM text of a slot the canonical formatter accepted (null if it does not decode, which the canonical form rules out).</summary>
    private static string? FormatValid(in Instruction first, in Instruction second, string? symbol)
    {
        if (!InstructionDecoder.TryDecode(first.IsWide ? [first, second] : [first], 0, out var d, out _))
        {
            return null;
        }

        char w = d.Is64 ? 'r' : 'w';
        string source = d.HasRegisterSource ? $"{w}{d.Src}" : Number(d.Imm);
        return d.Operation switch
        {
            Operation.Add => $"{w}{d.Dst} += {source}",
            Operation.Sub => $"{w}{d.Dst} -= {source}",
            Operation.Mul => $"{w}{d.Dst} *= {source}",
            Operation.Div => $"{w}{d.Dst} /= {source}",
            Operation.SDiv => $"{w}{d.Dst} s/= {source}",
            Operation.Mod => $"{w}{d.Dst} %= {source}",
            Operation.SMod => $"{w}{d.Dst} s%= {source}",
            Operation.Or => $"{w}{d.Dst} |= {source}",
            Operation.And => $"{w}{d.Dst} &= {source}",
            Operation.Xor => $"{w}{d.Dst} ^= {source}",
            Operation.Lsh => $"{w}{d.Dst} <<= {source}",
            Operation.Rsh => $"{w}{d.Dst} >>= {source}",
            Operation.Arsh => $"{w}{d.Dst} s>>= {source}",
            Operation.Neg => $"{w}{d.Dst} = -{w}{d.Dst}",
            Operation.Mov => $"{w}{d.Dst} = {source}",
            Operation.MovSx8 => $"{w}{d.Dst} = (s8){w}{d.Src}",
            Operation.MovSx16 => $"{w}{d.Dst} = (s16){w}{d.Src}",
            Operation.MovSx32 => $"{w}{d.Dst} = (s32){w}{d.Src}",
            Operation.Le16 or Operation.Le32 or Operation.Le64 or Operation.Be16 or Operation.Be32 or Operation.Be64
                or Operation.Bswap16 or Operation.Bswap32 or Operation.Bswap64 =>
                $"r{d.Dst} = {d.Operation.ToString().ToLowerInvariant()} r{d.Dst}",
            Operation.Ja => $"goto {Offset(d.Offset)}",
            Operation.Ja32 => $"gotol {Offset(d.Imm)}",
            Operation.Jeq => Jump(d, "==", source),
            Operation.Jgt => Jump(d, ">", source),
            Operation.Jge => Jump(d, ">=", source),
            Operation.Jset => Jump(d, "&", source),
            Operation.Jne => Jump(d, "!=", source),
            Operation.Jsgt => Jump(d, "s>", source),
            Operation.Jsge => Jump(d, "s>=", source),
            Operation.Jlt => Jump(d, "<", source),
            Operation.Jle => Jump(d, "<=", source),
            Operation.Jslt => Jump(d, "s<", source),
            Operation.Jsle => Jump(d, "s<=", source),
            Operation.CallHelper or Operation.CallLocal => "call " + (symbol ?? Number(d.Imm)),
            Operation.CallX => $"callx r{d.Dst}",
            Operation.Exit => "exit",
            Operation.Lddw when symbol is not null => $"r{d.Dst} = {symbol} ll",
            Operation.Lddw when d.PseudoSource != LddwSource.Immediate =>
                $"ld_pseudo r{d.Dst}, {((int)d.PseudoSource).ToString(CultureInfo.InvariantCulture)}, {Number(d.Imm)}",
            Operation.Lddw => $"r{d.Dst} = {((long)d.Value).ToString(CultureInfo.InvariantCulture)} ll",
            Operation.LoadAbsolute => $"r0 = *({Size(d, 'u')} *)skb[{Number(d.Imm)}]",
            Operation.LoadIndirect => $"r0 = *({Size(d, 'u')} *)skb[{(d.Imm == 0 ? $"r{d.Src}" : $"r{d.Src} + {Number(d.Imm)}")}]",
            Operation.Load => $"r{d.Dst} = *({Size(d, 'u')} *){Memory(d.Src, d.Offset)}",
            Operation.LoadSignExtend => $"r{d.Dst} = *({Size(d, 's')} *){Memory(d.Src, d.Offset)}",
            Operation.Store => $"*({Size(d, 'u')} *){Memory(d.Dst, d.Offset)} = {(d.HasRegisterSource ? $"r{d.Src}" : Number(d.Imm))}",
            Operation.AtomicAdd => $"lock *({Size(d, 'u')} *){Memory(d.Dst, d.Offset)} += r{d.Src}",
            Operation.AtomicOr => $"lock *({Size(d, 'u')} *){Memory(d.Dst, d.Offset)} |= r{d.Src}",
            Operation.AtomicAnd => $"lock *({Size(d, 'u')} *){Memory(d.Dst, d.Offset)} &= r{d.Src}",
            Operation.AtomicXor => $"lock *({Size(d, 'u')} *){Memory(d.Dst, d.Offset)} ^= r{d.Src}",
            Operation.AtomicFetchAdd => Fetch(d, "add"),
            Operation.AtomicFetchOr => Fetch(d, "or"),
            Operation.AtomicFetchAnd => Fetch(d, "and"),
            Operation.AtomicFetchXor => Fetch(d, "xor"),
            Operation.AtomicExchange => d.Is64 ? $"r{d.Src} = xchg_64({Address(d.Dst, d.Offset)}, r{d.Src})" : $"w{d.Src} = xchg32_32({Address(d.Dst, d.Offset)}, w{d.Src})",
            _ => d.Is64 ? $"r0 = cmpxchg_64({Address(d.Dst, d.Offset)}, r0, r{d.Src})" : $"w0 = cmpxchg32_32({Address(d.Dst, d.Offset)}, w0, w{d.Src})",
        };
    }

    private static string Jump(in DecodedInstruction d, string op, string source) =>
        $"if {(d.Is64 ? 'r' : 'w')}{d.Dst} {op} {source} goto {Offset(d.Offset)}";

    private static string Fetch(in DecodedInstruction d, string op)
    {
        char w = d.Is64 ? 'r' : 'w';
        return $"{w}{d.Src} = atomic_fetch_{op}(({Size(d, 'u')} *){Memory(d.Dst, d.Offset)}, {w}{d.Src})";
    }

    private static string Size(in DecodedInstruction d, char sign) => sign + (d.AccessSize * 8).ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Offset(long offset) => offset < 0 ? Number(offset) : "+" + Number(offset);

    private static string Address(int register, short offset) =>
        offset < 0 ? $"r{register} - {Number(-(long)offset)}" : $"r{register} + {Number(offset)}";

    private static string Memory(int register, short offset) => "(" + Address(register, offset) + ")";
}
