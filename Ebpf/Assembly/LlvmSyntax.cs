using System.Globalization;
using System.Text;
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
        return IsRaw(canonical) ? canonical : FormatValid(instruction, default, null);
    }

    /// <summary>The text of the instruction in <paramref name="first"/> (with <paramref name="second"/> when it is an <c>lddw</c>).</summary>
    /// <param name="first">The instruction's slot.</param>
    /// <param name="second">The slot after it (read only for <c>lddw</c>).</param>
    /// <param name="symbol">The name a relocation gave the instruction (map, global, function, helper), or null.</param>
    public static string Format(in Instruction first, in Instruction second, string? symbol = null)
    {
        string canonical = InstructionFormatter.Format(first, second);
        return IsRaw(canonical) ? canonical : FormatValid(first, second, symbol);
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

    private static string FormatValid(in Instruction i, in Instruction second, string? symbol) => i.Class switch
    {
        InstructionClass.Alu64 => FormatAlu(i, 'r'),
        InstructionClass.Alu => FormatAlu(i, 'w'),
        InstructionClass.Jmp => FormatJump(i, 'r', symbol),
        InstructionClass.Jmp32 => FormatJump(i, 'w', symbol),
        InstructionClass.Ld when i.IsWide => FormatLddw(i, second, symbol),
        InstructionClass.Ld => FormatPacketLoad(i),
        InstructionClass.Ldx => $"r{i.Dst} = *({(i.AccessMode == AccessMode.MemorySignExtend ? 's' : 'u')}{Bits(i)} *){Memory(i.Src, i.Offset)}",
        InstructionClass.St => $"*(u{Bits(i)} *){Memory(i.Dst, i.Offset)} = {Number(i.Imm)}",
        _ when i.AccessMode == AccessMode.Atomic => FormatAtomic(i),
        _ => $"*(u{Bits(i)} *){Memory(i.Dst, i.Offset)} = r{i.Src}",
    };

    private static string FormatAlu(in Instruction i, char width)
    {
        string dst = $"{width}{i.Dst}";
        string source = i.Source == OperandSource.Register ? $"{width}{i.Src}" : Number(i.Imm);
        switch (i.AluOperation)
        {
            case AluOperation.Neg:
                return $"{dst} = -{dst}";
            case AluOperation.End:
                string name = i.OpCode switch { OpCodes.Le => "le", OpCodes.Be => "be", _ => "bswap" };
                return $"r{i.Dst} = {name}{i.Imm.ToString(CultureInfo.InvariantCulture)} r{i.Dst}";
            case AluOperation.Mov when i.Offset != 0:
                return $"{dst} = (s{i.Offset.ToString(CultureInfo.InvariantCulture)}){width}{i.Src}";
            case AluOperation.Mov:
                return $"{dst} = {source}";
        }

        bool signed = i.Offset == 1;
        string op = i.AluOperation switch
        {
            AluOperation.Add => "+=",
            AluOperation.Sub => "-=",
            AluOperation.Mul => "*=",
            AluOperation.Div => signed ? "s/=" : "/=",
            AluOperation.Mod => signed ? "s%=" : "%=",
            AluOperation.Or => "|=",
            AluOperation.And => "&=",
            AluOperation.Xor => "^=",
            AluOperation.Lsh => "<<=",
            AluOperation.Rsh => ">>=",
            _ => "s>>=",
        };
        return $"{dst} {op} {source}";
    }

    private static string FormatJump(in Instruction i, char width, string? symbol)
    {
        switch (i.OpCode)
        {
            case OpCodes.Ja:
                return $"goto {Offset(i.Offset)}";
            case OpCodes.Ja32:
                return $"gotol {Offset(i.Imm)}";
            case OpCodes.Exit:
                return "exit";
            case OpCodes.CallX:
                return $"callx r{i.Dst}";
            case OpCodes.Call:
                return "call " + (symbol ?? Number(i.Imm));
        }

        string op = i.JumpOperation switch
        {
            JumpOperation.Jeq => "==",
            JumpOperation.Jgt => ">",
            JumpOperation.Jge => ">=",
            JumpOperation.Jset => "&",
            JumpOperation.Jne => "!=",
            JumpOperation.Jsgt => "s>",
            JumpOperation.Jsge => "s>=",
            JumpOperation.Jlt => "<",
            JumpOperation.Jle => "<=",
            JumpOperation.Jslt => "s<",
            _ => "s<=",
        };
        string right = i.Source == OperandSource.Register ? $"{width}{i.Src}" : Number(i.Imm);
        return $"if {width}{i.Dst} {op} {right} goto {Offset(i.Offset)}";
    }

    private static string FormatLddw(in Instruction first, in Instruction second, string? symbol)
    {
        if (symbol is not null)
        {
            return $"r{first.Dst} = {symbol} ll";
        }

        if (first.Src != 0)
        {
            return $"ld_pseudo r{first.Dst}, {first.Src.ToString(CultureInfo.InvariantCulture)}, {Number(first.Imm)}";
        }

        long value = (long)(((ulong)(uint)second.Imm << 32) | (uint)first.Imm);
        return $"r{first.Dst} = {value.ToString(CultureInfo.InvariantCulture)} ll";
    }

    private static string FormatPacketLoad(in Instruction i)
    {
        string index = i.AccessMode == AccessMode.Absolute
            ? Number(i.Imm)
            : i.Imm == 0 ? $"r{i.Src}" : $"r{i.Src} + {Number(i.Imm)}";
        return $"r0 = *(u{Bits(i)} *)skb[{index}]";
    }

    private static string FormatAtomic(in Instruction i)
    {
        bool wide = i.AccessSize == AccessSize.DoubleWord;
        char width = wide ? 'r' : 'w';
        string size = $"u{Bits(i)}";
        string address = Address(i.Dst, i.Offset);
        return (AtomicOperation)i.Imm switch
        {
            AtomicOperation.Add => $"lock *({size} *){Memory(i.Dst, i.Offset)} += r{i.Src}",
            AtomicOperation.Or => $"lock *({size} *){Memory(i.Dst, i.Offset)} |= r{i.Src}",
            AtomicOperation.And => $"lock *({size} *){Memory(i.Dst, i.Offset)} &= r{i.Src}",
            AtomicOperation.Xor => $"lock *({size} *){Memory(i.Dst, i.Offset)} ^= r{i.Src}",
            AtomicOperation.FetchAdd => $"{width}{i.Src} = atomic_fetch_add(({size} *){Memory(i.Dst, i.Offset)}, {width}{i.Src})",
            AtomicOperation.FetchOr => $"{width}{i.Src} = atomic_fetch_or(({size} *){Memory(i.Dst, i.Offset)}, {width}{i.Src})",
            AtomicOperation.FetchAnd => $"{width}{i.Src} = atomic_fetch_and(({size} *){Memory(i.Dst, i.Offset)}, {width}{i.Src})",
            AtomicOperation.FetchXor => $"{width}{i.Src} = atomic_fetch_xor(({size} *){Memory(i.Dst, i.Offset)}, {width}{i.Src})",
            AtomicOperation.Exchange => wide ? $"r{i.Src} = xchg_64({address}, r{i.Src})" : $"w{i.Src} = xchg32_32({address}, w{i.Src})",
            _ => wide ? $"r0 = cmpxchg_64({address}, r0, r{i.Src})" : $"w0 = cmpxchg32_32({address}, w0, w{i.Src})",
        };
    }

    private static string Bits(in Instruction i) => (i.AccessBytes * 8).ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Offset(long offset) => offset < 0 ? Number(offset) : "+" + Number(offset);

    private static string Address(int register, short offset) =>
        offset < 0 ? $"r{register} - {Number(-(long)offset)}" : $"r{register} + {Number(offset)}";

    private static string Memory(int register, short offset) => "(" + Address(register, offset) + ")";
}
