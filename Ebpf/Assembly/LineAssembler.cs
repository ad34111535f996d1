using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Assembly;

/// <summary>Encodes the instruction on one line of assembly text (after its labels) and reports positioned errors.</summary>
internal sealed class LineAssembler
{
    private const string MemoryExample = "a memory operand such as [r1+8], [r10-4] or [r2]";

    private readonly int line;
    private readonly Token mnemonic;
    private readonly List<Token> rest;
    private readonly int pc;
    private readonly List<LabelFixup> fixups;
    private readonly string name;

    private LineAssembler(int line, Token mnemonic, List<Token> rest, int pc, List<LabelFixup> fixups)
    {
        this.line = line;
        this.mnemonic = mnemonic;
        this.rest = rest;
        this.pc = pc;
        this.fixups = fixups;
        name = mnemonic.Text.ToLowerInvariant();
    }

    /// <summary>Encodes one instruction (one or two slots) and appends it to <paramref name="output"/>.</summary>
    /// <param name="line">The line number, for errors.</param>
    /// <param name="mnemonic">The mnemonic token.</param>
    /// <param name="rest">The tokens after the mnemonic.</param>
    /// <param name="output">The slots assembled so far; the new slots are appended.</param>
    /// <param name="fixups">Label references; new ones are appended.</param>
    public static void Assemble(int line, Token mnemonic, List<Token> rest, List<Instruction> output, List<LabelFixup> fixups)
    {
        var assembler = new LineAssembler(line, mnemonic, rest, output.Count, fixups);
        assembler.Encode(output);
    }

    private EbpfAssemblyException Error(int column, string reason) => new(line, column, reason);

    private void Encode(List<Instruction> output)
    {
        if (name == "lock")
        {
            output.Add(EncodeLock());
            return;
        }

        if (mnemonic.Kind != TokenKind.Identifier || !MnemonicTable.Forms.TryGetValue(name, out var form))
        {
            throw Error(mnemonic.Column, $"unknown mnemonic '{mnemonic.Text}' (expected an instruction such as mov, add32, ldxw, stxdw, jeq, ja, call, exit, lddw, lock, or the directive .slot)");
        }

        var ops = SplitOperands(rest);
        CheckCount(ops, form.OperandCount, form.OperandDescription);
        byte op = form.OpCode;
        switch (form.Shape)
        {
            case OperandShape.None:
                output.Add(new Instruction(op, 0, 0, form.Offset, form.Imm));
                break;
            case OperandShape.Dst:
                output.Add(new Instruction(op, Register(ops[0], "a destination"), 0, form.Offset, form.Imm));
                break;
            case OperandShape.DstSource:
            {
                byte dst = Register(ops[0], "a destination");
                output.Add(LooksLikeRegister(ops[1])
                    ? new Instruction((byte)(op | (byte)OperandSource.Register), dst, Register(ops[1], "a source"), form.Offset, 0)
                    : new Instruction(op, dst, 0, form.Offset, Imm32(ops[1])));
                break;
            }

            case OperandShape.DstSrc:
                output.Add(new Instruction(op, Register(ops[0], "a destination"), Register(ops[1], "a source"), form.Offset, form.Imm));
                break;
            case OperandShape.ConditionalJump:
            {
                byte dst = Register(ops[0], "a first");
                var insn = LooksLikeRegister(ops[1])
                    ? new Instruction((byte)(op | (byte)OperandSource.Register), dst, Register(ops[1], "a second"), 0, 0)
                    : new Instruction(op, dst, 0, 0, Imm32(ops[1]));
                output.Add(insn.WithOffset((short)Target(ops[2], inImmediate: false)));
                break;
            }

            case OperandShape.Jump16:
                output.Add(new Instruction(op, 0, 0, (short)Target(ops[0], inImmediate: false), 0));
                break;
            case OperandShape.Jump32:
                output.Add(new Instruction(op, 0, 0, 0, Target(ops[0], inImmediate: true)));
                break;
            case OperandShape.Call:
                output.Add(EncodeCall(ops[0]));
                break;
            case OperandShape.CallX:
                output.Add(new Instruction(op, Register(ops[0], "the helper id"), 0, 0, 0));
                break;
            case OperandShape.Lddw:
                EncodeLddw(ops, output);
                break;
            case OperandShape.Load:
            {
                byte dst = Register(ops[0], "a destination");
                var (src, offset) = Memory(ops[1]);
                output.Add(new Instruction(op, dst, src, offset, 0));
                break;
            }

            case OperandShape.StoreImmediate:
            {
                var (dst, offset) = Memory(ops[0]);
                output.Add(new Instruction(op, dst, 0, offset, Imm32(ops[1])));
                break;
            }

            case OperandShape.StoreRegister:
            {
                var (dst, offset) = Memory(ops[0]);
                output.Add(new Instruction(op, dst, Register(ops[1], "a source"), offset, form.Imm));
                break;
            }

            case OperandShape.Absolute:
                output.Add(new Instruction(op, 0, 0, 0, Imm32(ops[0])));
                break;
            case OperandShape.Indirect:
                output.Add(new Instruction(op, 0, Register(ops[0], "an index"), 0, Imm32(ops[1])));
                break;
            default:
                output.Add(Instruction.FromRaw(SlotWord(ops[0])));
                break;
        }
    }

    private Instruction EncodeLock()
    {
        const string expected = "an atomic operation after 'lock' (add, or, and, xor, xchg or cmpxchg, optionally after 'fetch', with the suffix 32 for 32 bits)";
        int i = 0;
        bool fetch = false;
        if (i < rest.Count && rest[i].Kind == TokenKind.Identifier && rest[i].Text.Equals("fetch", StringComparison.OrdinalIgnoreCase))
        {
            fetch = true;
            i++;
        }

        if (i >= rest.Count)
        {
            throw Error(mnemonic.Column, $"'lock' takes {expected}, then [rN+offset] and a register; found nothing");
        }

        var opToken = rest[i];
        string opName = opToken.Text.ToLowerInvariant();
        bool is32 = false;
        if (opName.EndsWith("32", StringComparison.Ordinal))
        {
            is32 = true;
            opName = opName[..^2];
        }
        else if (opName.EndsWith("64", StringComparison.Ordinal))
        {
            opName = opName[..^2];
        }

        if (opToken.Kind != TokenKind.Identifier || !MnemonicTable.AtomicOperations.TryGetValue(opName, out var ops))
        {
            throw Error(opToken.Column, $"expected {expected}, found '{opToken.Text}'");
        }

        var operands = SplitOperands(rest.GetRange(i + 1, rest.Count - i - 1));
        CheckCount(operands, 2, "a memory operand [rN+offset], then a register", $"lock {opToken.Text}");
        var (dst, offset) = Memory(operands[0]);
        byte src = Register(operands[1], "a source");
        var operation = fetch ? ops.Fetch : ops.Plain;
        return new Instruction(is32 ? OpCodes.AtomicW : OpCodes.AtomicDW, dst, src, offset, (int)operation);
    }

    private Instruction EncodeCall(List<Token> op)
    {
        var first = op[0];
        if (first.Kind == TokenKind.Identifier)
        {
            string mode = first.Text.ToLowerInvariant();
            if (mode == "local")
            {
                var target = Tail(op, first, "a call target (+N, -N or a label) after 'local'");
                return new Instruction(OpCodes.Call, 0, 1, 0, Target(target, inImmediate: true));
            }

            if (mode == "helper")
            {
                op = Tail(op, first, "a helper id or a register after 'helper'");
            }
        }

        if (LooksLikeRegister(op))
        {
            return new Instruction(OpCodes.CallX, Register(op, "the helper id"), 0, 0, 0);
        }

        return new Instruction(OpCodes.Call, 0, 0, 0, Imm32(op));
    }

    private List<Token> Tail(List<Token> op, Token keyword, string expected)
    {
        if (op.Count < 2)
        {
            throw Error(keyword.EndColumn, $"expected {expected}");
        }

        return op.GetRange(1, op.Count - 1);
    }

    private void EncodeLddw(List<List<Token>> ops, List<Instruction> output)
    {
        byte dst = Register(ops[0], "a destination");
        var valueTokens = ops[1];
        byte src = 0;
        var first = valueTokens[0];
        if (first.Kind == TokenKind.Identifier)
        {
            if (!MnemonicTable.LddwSources.TryGetValue(first.Text.ToLowerInvariant(), out var source))
            {
                throw Error(first.Column, $"expected a 64-bit immediate or a pseudo source ({string.Join(", ", MnemonicTable.LddwSources.Keys.Order(StringComparer.Ordinal))}), found '{first.Text}'");
            }

            src = (byte)source;
            valueTokens = Tail(valueTokens, first, $"a 64-bit immediate after '{first.Text}'");
            if (source == Isa.LddwSource.CodeAddress && valueTokens is [{ Kind: TokenKind.Identifier } label])
            {
                // lddw r2, code_addr callback: the function's distance from the second slot, as the kernel counts it.
                fixups.Add(new LabelFixup(pc, label.Text, line, label.Column, InImmediate: true));
                output.Add(new Instruction(OpCodes.Lddw, dst, src, 0, 0));
                output.Add(new Instruction(0, 0, 0, 0, 0));
                return;
            }
        }

        ulong value = Imm64(valueTokens);
        output.Add(new Instruction(OpCodes.Lddw, dst, src, 0, (int)(uint)value));
        output.Add(new Instruction(0, 0, 0, 0, (int)(uint)(value >> 32)));
    }

    private List<List<Token>> SplitOperands(List<Token> tokens)
    {
        var result = new List<List<Token>>();
        if (tokens.Count == 0)
        {
            return result;
        }

        var current = new List<Token>();
        foreach (var t in tokens)
        {
            if (t.Kind == TokenKind.Comma)
            {
                if (current.Count == 0)
                {
                    throw Error(t.Column, "expected an operand before ','");
                }

                result.Add(current);
                current = [];
                continue;
            }

            current.Add(t);
        }

        if (current.Count == 0)
        {
            throw Error(tokens[^1].EndColumn, "expected an operand after ','");
        }

        result.Add(current);
        return result;
    }

    private void CheckCount(List<List<Token>> ops, int expected, string description, string? what = null)
    {
        if (ops.Count == expected)
        {
            return;
        }

        what ??= mnemonic.Text;
        string reason = $"wrong operand count: '{what}' takes {expected} operand{(expected == 1 ? string.Empty : "s")} ({description}), found {ops.Count}";
        throw Error(ops.Count < expected ? mnemonic.Column : ops[expected][0].Column, reason);
    }

    private static bool LooksLikeRegister(List<Token> op) =>
        op.Count == 1 && (op[0].Kind == TokenKind.PercentRegister || (op[0].Kind == TokenKind.Identifier && RegisterDigits(op[0].Text) is not null));

    private static string? RegisterDigits(string text)
    {
        if (text.Length < 2 || (text[0] != 'r' && text[0] != 'R'))
        {
            return null;
        }

        return text.AsSpan(1).ContainsAnyExceptInRange('0', '9') ? null : text[1..];
    }

    private byte Register(List<Token> op, string role)
    {
        var t = op[0];
        if (op.Count == 1 && (t.Kind == TokenKind.PercentRegister || t.Kind == TokenKind.Identifier))
        {
            string text = t.Kind == TokenKind.PercentRegister ? t.Text[1..] : t.Text;
            string? digits = RegisterDigits(text);
            if (digits is not null && digits.Length <= 2 && int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) <= 10)
            {
                return byte.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (digits is not null || t.Kind == TokenKind.PercentRegister)
            {
                throw Error(t.Column, $"bad register '{t.Text}' (expected r0..r10 or %r0..%r10)");
            }
        }

        throw Error(t.Column, $"expected {role} register (r0..r10 or %r0..%r10), found '{Describe(op)}'");
    }

    private static string Describe(List<Token> op) => string.Concat(op.Select(t => t.Text));

    private (Int128 Value, bool Hex, int Column) SignedNumber(List<Token> op, string expected)
    {
        int i = 0;
        bool negative = false;
        if (op[0].Kind is TokenKind.Plus or TokenKind.Minus)
        {
            negative = op[0].Kind == TokenKind.Minus;
            i++;
        }

        if (i >= op.Count || op[i].Kind != TokenKind.Number)
        {
            var at = i < op.Count ? op[i] : op[0];
            throw Error(at.Column, $"expected {expected}, found '{Describe(op)}'");
        }

        if (i + 1 != op.Count)
        {
            throw Error(op[i + 1].Column, $"unexpected '{op[i + 1].Text}' after {expected}");
        }

        Int128 value = op[i].Value;
        return (negative ? -value : value, op[i].IsHex, op[i].Column);
    }

    private int Imm32(List<Token> op)
    {
        var (value, hex, column) = SignedNumber(op, "an immediate (a decimal or 0x hex number)");
        Int128 max = hex ? uint.MaxValue : int.MaxValue;
        if (value < int.MinValue || value > max)
        {
            throw Error(column, $"immediate {Describe(op)} is out of range (a 32-bit immediate: -2147483648..2147483647 in decimal, up to 0xffffffff in hex)");
        }

        return value > int.MaxValue ? (int)(uint)value : (int)value;
    }

    private ulong Imm64(List<Token> op)
    {
        var (value, _, column) = SignedNumber(op, "a 64-bit immediate (a decimal or 0x hex number)");
        if (value < long.MinValue || value > ulong.MaxValue)
        {
            throw Error(column, $"immediate {Describe(op)} is out of range (a 64-bit immediate: -9223372036854775808..0xffffffffffffffff)");
        }

        return value < 0 ? (ulong)(long)value : (ulong)value;
    }

    private ulong SlotWord(List<Token> op)
    {
        if (op.Count != 1 || op[0].Kind != TokenKind.Number)
        {
            throw Error(op[0].Column, $"expected a 64-bit word (such as 0x0000000000000095), found '{Describe(op)}'");
        }

        return op[0].Value;
    }

    private (byte Register, short Offset) Memory(List<Token> op)
    {
        if (op[0].Kind != TokenKind.OpenBracket)
        {
            throw Error(op[0].Column, $"bad memory operand: expected {MemoryExample}, found '{Describe(op)}'");
        }

        if (op.Count < 3 || op[^1].Kind != TokenKind.CloseBracket)
        {
            throw Error(op[^1].EndColumn, $"bad memory operand: expected {MemoryExample} (missing ']')");
        }

        byte reg = Register([op[1]], "a base");
        if (op.Count == 3)
        {
            return (reg, 0);
        }

        if (op[2].Kind is not (TokenKind.Plus or TokenKind.Minus))
        {
            throw Error(op[2].Column, $"bad memory operand: expected '+' or '-' and an offset after the register, found '{op[2].Text}'");
        }

        var number = op.GetRange(2, op.Count - 3);
        var (value, _, column) = SignedNumber(number, "an offset");
        if (value < short.MinValue || value > short.MaxValue)
        {
            throw Error(column, $"offset {Describe(number)} is out of range (a 16-bit signed offset: -32768..32767)");
        }

        return (reg, (short)value);
    }

    private int Target(List<Token> op, bool inImmediate)
    {
        var t = op[0];
        if (op.Count == 1 && t.Kind == TokenKind.Identifier)
        {
            fixups.Add(new LabelFixup(pc, t.Text, line, t.Column, inImmediate));
            return 0;
        }

        if (t.Kind is not (TokenKind.Plus or TokenKind.Minus or TokenKind.Number))
        {
            throw Error(t.Column, $"expected a jump target (+N, -N or a label), found '{Describe(op)}'");
        }

        var (value, _, column) = SignedNumber(op, "a jump target (+N, -N or a label)");
        Int128 min = inImmediate ? int.MinValue : short.MinValue;
        Int128 max = inImmediate ? int.MaxValue : short.MaxValue;
        if (value < min || value > max)
        {
            throw Error(column, Invariant($"jump offset {Describe(op)} is out of range ({min}..{max} slots)"));
        }

        return (int)value;
    }
}
