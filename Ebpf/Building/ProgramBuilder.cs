using Ebpf.Isa;
using Ebpf.Verification;
using static System.FormattableString;

namespace Ebpf.Building;

/// <summary>
/// A fluent, typed builder over the whole eBPF instruction set (RFC 9669 plus the legacy packet loads): ALU and
/// ALU64 with an immediate or a register (including <c>sdiv</c>/<c>smod</c>, <c>neg</c>, <c>movsx</c>), byte swaps,
/// loads, stores, sign-extending loads, <c>LD_ABS</c>/<c>LD_IND</c>, atomics, JMP/JMP32 with labels, <c>ja32</c>,
/// helper calls, local calls to labels, <c>callx</c>, <c>lddw</c> (with pseudo sources) and <c>exit</c>.
/// It covers rbpf's <c>insn_builder</c> and adds what that lacks (JMP32, atomics, local calls, labels).
/// <example>
/// <code>
/// var program = new ProgramBuilder()
///     .Mov(Register.R0, 0)
///     .Label("loop")
///     .Add(Register.R0, 1)
///     .Jump(JumpCondition.Less, Register.R0, 10, "loop")
///     .Exit()
///     .Build();
/// </code>
/// </example>
/// Labels may be used before or after they are defined; they are resolved by <see cref="ToInstructions"/>,
/// <see cref="ToBytes"/> and <see cref="Build"/>, which throw <see cref="ProgramBuildException"/> for an undefined or
/// duplicate label or a distance that does not fit the field. Invalid arguments (a register beyond r10, an enum value
/// that is not defined, an atomic of 8 or 16 bits, ...) throw <see cref="ArgumentException"/> at once.
/// The builder does not verify; <see cref="Build"/> runs a verifier.
/// </summary>
public sealed class ProgramBuilder
{
    private readonly List<Instruction> slots = [];
    private readonly List<LabelReference> references = [];
    private readonly Dictionary<string, int> labels = new(StringComparer.Ordinal);
    private readonly List<(string Label, int Slot)> duplicates = [];

    /// <summary>The number of slots emitted so far (an <c>lddw</c> takes two); the slot the next instruction goes to.</summary>
    public int Count => slots.Count;

    /// <summary>Defines <paramref name="name"/> as the slot of the next instruction.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public ProgramBuilder Label(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!labels.TryAdd(name, slots.Count))
        {
            duplicates.Add((name, slots.Count));
        }

        return this;
    }

    /// <summary>Appends a raw instruction slot as it is (an escape hatch; nothing is checked).</summary>
    public ProgramBuilder Emit(Instruction instruction)
    {
        slots.Add(instruction);
        return this;
    }

    // ---- ALU / ALU64 ----

    /// <summary><c>dst = dst OP imm</c> (64-bit by default).</summary>
    public ProgramBuilder Alu(BinaryOperation operation, Register dst, int imm, OperandWidth width = OperandWidth.Bits64)
    {
        var (op, offset) = Split(operation);
        return Put(AluOpCode(op, OperandSource.Immediate, width), dst, 0, offset, imm);
    }

    /// <summary><c>dst = dst OP src</c> (64-bit by default).</summary>
    public ProgramBuilder Alu(BinaryOperation operation, Register dst, Register src, OperandWidth width = OperandWidth.Bits64)
    {
        var (op, offset) = Split(operation);
        return Put(AluOpCode(op, OperandSource.Register, width), dst, Reg(src), offset, 0);
    }

    /// <summary><c>add dst, imm</c>.</summary>
    public ProgramBuilder Add(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Add, dst, imm, width);

    /// <summary><c>add dst, src</c>.</summary>
    public ProgramBuilder Add(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Add, dst, src, width);

    /// <summary><c>sub dst, imm</c>.</summary>
    public ProgramBuilder Sub(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Sub, dst, imm, width);

    /// <summary><c>sub dst, src</c>.</summary>
    public ProgramBuilder Sub(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Sub, dst, src, width);

    /// <summary><c>mul dst, imm</c>.</summary>
    public ProgramBuilder Mul(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mul, dst, imm, width);

    /// <summary><c>mul dst, src</c>.</summary>
    public ProgramBuilder Mul(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mul, dst, src, width);

    /// <summary>Unsigned <c>div dst, imm</c>.</summary>
    public ProgramBuilder Div(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Div, dst, imm, width);

    /// <summary>Unsigned <c>div dst, src</c>.</summary>
    public ProgramBuilder Div(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Div, dst, src, width);

    /// <summary>Signed <c>sdiv dst, imm</c>.</summary>
    public ProgramBuilder SDiv(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.SDiv, dst, imm, width);

    /// <summary>Signed <c>sdiv dst, src</c>.</summary>
    public ProgramBuilder SDiv(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.SDiv, dst, src, width);

    /// <summary><c>or dst, imm</c>.</summary>
    public ProgramBuilder Or(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Or, dst, imm, width);

    /// <summary><c>or dst, src</c>.</summary>
    public ProgramBuilder Or(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Or, dst, src, width);

    /// <summary><c>and dst, imm</c>.</summary>
    public ProgramBuilder And(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.And, dst, imm, width);

    /// <summary><c>and dst, src</c>.</summary>
    public ProgramBuilder And(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.And, dst, src, width);

    /// <summary><c>lsh dst, imm</c>.</summary>
    public ProgramBuilder Lsh(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Lsh, dst, imm, width);

    /// <summary><c>lsh dst, src</c>.</summary>
    public ProgramBuilder Lsh(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Lsh, dst, src, width);

    /// <summary><c>rsh dst, imm</c>.</summary>
    public ProgramBuilder Rsh(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Rsh, dst, imm, width);

    /// <summary><c>rsh dst, src</c>.</summary>
    public ProgramBuilder Rsh(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Rsh, dst, src, width);

    /// <summary>Unsigned <c>mod dst, imm</c>.</summary>
    public ProgramBuilder Mod(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mod, dst, imm, width);

    /// <summary>Unsigned <c>mod dst, src</c>.</summary>
    public ProgramBuilder Mod(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mod, dst, src, width);

    /// <summary>Signed <c>smod dst, imm</c>.</summary>
    public ProgramBuilder SMod(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.SMod, dst, imm, width);

    /// <summary>Signed <c>smod dst, src</c>.</summary>
    public ProgramBuilder SMod(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.SMod, dst, src, width);

    /// <summary><c>xor dst, imm</c>.</summary>
    public ProgramBuilder Xor(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Xor, dst, imm, width);

    /// <summary><c>xor dst, src</c>.</summary>
    public ProgramBuilder Xor(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Xor, dst, src, width);

    /// <summary><c>mov dst, imm</c> (64-bit: the immediate is sign-extended; 32-bit: zero-extended).</summary>
    public ProgramBuilder Mov(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mov, dst, imm, width);

    /// <summary><c>mov dst, src</c>.</summary>
    public ProgramBuilder Mov(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Mov, dst, src, width);

    /// <summary>Arithmetic right shift <c>arsh dst, imm</c>.</summary>
    public ProgramBuilder Arsh(Register dst, int imm, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Arsh, dst, imm, width);

    /// <summary>Arithmetic right shift <c>arsh dst, src</c>.</summary>
    public ProgramBuilder Arsh(Register dst, Register src, OperandWidth width = OperandWidth.Bits64) => Alu(BinaryOperation.Arsh, dst, src, width);

    /// <summary><c>dst = -dst</c>.</summary>
    public ProgramBuilder Neg(Register dst, OperandWidth width = OperandWidth.Bits64) =>
        Put(AluOpCode(AluOperation.Neg, OperandSource.Immediate, width), dst, 0, 0, 0);

    /// <summary><c>movsx</c>: <c>dst</c> = the low 8, 16 or 32 bits of <c>src</c>, sign-extended (32-bit: only from 8 or 16 bits).</summary>
    /// <exception cref="ArgumentException">A 32-bit move from 32 bits (not an instruction), or an undefined width.</exception>
    public ProgramBuilder MovSx(Register dst, Register src, SignExtension from, OperandWidth width = OperandWidth.Bits64)
    {
        Defined(from);
        if (from == SignExtension.FromWord && width == OperandWidth.Bits32)
        {
            throw new ArgumentException("a 32-bit movsx sign-extends from 8 or 16 bits only", nameof(from));
        }

        return Put(AluOpCode(AluOperation.Mov, OperandSource.Register, width), dst, Reg(src), (short)from, 0);
    }

    // ---- byte swaps ----

    /// <summary><c>le16/32/64 dst</c>: convert from little endian (on a little-endian host: truncate to the width).</summary>
    public ProgramBuilder Le(Register dst, SwapWidth width) => Put(OpCodes.Le, dst, 0, 0, Swap(width));

    /// <summary><c>be16/32/64 dst</c>: convert from big endian (on a little-endian host: swap the bytes of the width).</summary>
    public ProgramBuilder Be(Register dst, SwapWidth width) => Put(OpCodes.Be, dst, 0, 0, Swap(width));

    /// <summary><c>bswap16/32/64 dst</c>: swap the bytes of the width unconditionally (class ALU64).</summary>
    public ProgramBuilder Bswap(Register dst, SwapWidth width) => Put(OpCodes.Bswap, dst, 0, 0, Swap(width));

    // ---- loads and stores ----

    /// <summary><c>ldx{b,h,w,dw} dst, [src + offset]</c>: a zero-extending load.</summary>
    public ProgramBuilder Ldx(AccessSize size, Register dst, Register src, short offset = 0) =>
        Put(MemoryOpCode(InstructionClass.Ldx, AccessMode.Memory, size), dst, Reg(src), offset, 0);

    /// <summary><c>ldxs{b,h,w} dst, [src + offset]</c>: a sign-extending load.</summary>
    /// <exception cref="ArgumentException">A doubleword (there is no sign-extending 64-bit load).</exception>
    public ProgramBuilder Ldxs(AccessSize size, Register dst, Register src, short offset = 0)
    {
        if (size == AccessSize.DoubleWord)
        {
            throw new ArgumentException("sign-extending loads are 8, 16 or 32 bits wide", nameof(size));
        }

        return Put(MemoryOpCode(InstructionClass.Ldx, AccessMode.MemorySignExtend, size), dst, Reg(src), offset, 0);
    }

    /// <summary><c>st{b,h,w,dw} [dst + offset], imm</c>.</summary>
    public ProgramBuilder St(AccessSize size, Register dst, short offset, int imm) =>
        Put(MemoryOpCode(InstructionClass.St, AccessMode.Memory, size), dst, 0, offset, imm);

    /// <summary><c>stx{b,h,w,dw} [dst + offset], src</c>.</summary>
    public ProgramBuilder Stx(AccessSize size, Register dst, short offset, Register src) =>
        Put(MemoryOpCode(InstructionClass.Stx, AccessMode.Memory, size), dst, Reg(src), offset, 0);

    /// <summary>Legacy packet load <c>ldabs{b,h,w,dw} imm</c>: r0 = the input at offset imm.</summary>
    public ProgramBuilder LdAbs(AccessSize size, int imm) =>
        Put(MemoryOpCode(InstructionClass.Ld, AccessMode.Absolute, size), 0, 0, 0, imm);

    /// <summary>Legacy packet load <c>ldind{b,h,w,dw} src, imm</c>: r0 = the input at offset src + imm.</summary>
    public ProgramBuilder LdInd(AccessSize size, Register src, int imm) =>
        Put(MemoryOpCode(InstructionClass.Ld, AccessMode.Indirect, size), 0, Reg(src), 0, imm);

    // ---- atomics ----

    /// <summary>An atomic operation on <c>[dst + offset]</c> with <c>src</c> (32 or 64 bits); see <see cref="AtomicOperation"/>.</summary>
    /// <exception cref="ArgumentException">A size other than word or doubleword, or an undefined operation.</exception>
    public ProgramBuilder Atomic(AtomicOperation operation, AccessSize size, Register dst, short offset, Register src)
    {
        Defined(operation);
        if (size is not (AccessSize.Word or AccessSize.DoubleWord))
        {
            throw new ArgumentException("atomic operations are 32 (Word) or 64 (DoubleWord) bits wide", nameof(size));
        }

        return Put(MemoryOpCode(InstructionClass.Stx, AccessMode.Atomic, size), dst, Reg(src), offset, (int)operation);
    }

    /// <summary><c>lock [fetch] add [dst + offset], src</c>; with <paramref name="fetch"/> the old value goes to <c>src</c>.</summary>
    public ProgramBuilder AtomicAdd(AccessSize size, Register dst, short offset, Register src, bool fetch = false) =>
        Atomic(fetch ? AtomicOperation.FetchAdd : AtomicOperation.Add, size, dst, offset, src);

    /// <summary><c>lock [fetch] or [dst + offset], src</c>.</summary>
    public ProgramBuilder AtomicOr(AccessSize size, Register dst, short offset, Register src, bool fetch = false) =>
        Atomic(fetch ? AtomicOperation.FetchOr : AtomicOperation.Or, size, dst, offset, src);

    /// <summary><c>lock [fetch] and [dst + offset], src</c>.</summary>
    public ProgramBuilder AtomicAnd(AccessSize size, Register dst, short offset, Register src, bool fetch = false) =>
        Atomic(fetch ? AtomicOperation.FetchAnd : AtomicOperation.And, size, dst, offset, src);

    /// <summary><c>lock [fetch] xor [dst + offset], src</c>.</summary>
    public ProgramBuilder AtomicXor(AccessSize size, Register dst, short offset, Register src, bool fetch = false) =>
        Atomic(fetch ? AtomicOperation.FetchXor : AtomicOperation.Xor, size, dst, offset, src);

    /// <summary><c>lock xchg [dst + offset], src</c>: the old value goes to <c>src</c>.</summary>
    public ProgramBuilder AtomicExchange(AccessSize size, Register dst, short offset, Register src) =>
        Atomic(AtomicOperation.Exchange, size, dst, offset, src);

    /// <summary><c>lock cmpxchg [dst + offset], src</c>: stores src if the memory equals r0; the old value goes to r0.</summary>
    public ProgramBuilder AtomicCompareExchange(AccessSize size, Register dst, short offset, Register src) =>
        Atomic(AtomicOperation.CompareExchange, size, dst, offset, src);

    // ---- jumps ----

    /// <summary>Jumps to <paramref name="label"/> when <c>dst COND imm</c> holds (JMP, or JMP32 comparing the low 32 bits).</summary>
    public ProgramBuilder Jump(JumpCondition condition, Register dst, int imm, string label, OperandWidth width = OperandWidth.Bits64) =>
        Jump(condition, dst, imm, Pending(label), width).ReferTo(label, inImmediate: false);

    /// <summary>Jumps to <paramref name="label"/> when <c>dst COND src</c> holds.</summary>
    public ProgramBuilder Jump(JumpCondition condition, Register dst, Register src, string label, OperandWidth width = OperandWidth.Bits64) =>
        Jump(condition, dst, src, Pending(label), width).ReferTo(label, inImmediate: false);

    /// <summary>Jumps by <paramref name="offset"/> slots (relative to the next slot) when <c>dst COND imm</c> holds.</summary>
    public ProgramBuilder Jump(JumpCondition condition, Register dst, int imm, short offset, OperandWidth width = OperandWidth.Bits64) =>
        Put(JumpOpCode(condition, OperandSource.Immediate, width), dst, 0, offset, imm);

    /// <summary>Jumps by <paramref name="offset"/> slots (relative to the next slot) when <c>dst COND src</c> holds.</summary>
    public ProgramBuilder Jump(JumpCondition condition, Register dst, Register src, short offset, OperandWidth width = OperandWidth.Bits64) =>
        Put(JumpOpCode(condition, OperandSource.Register, width), dst, Reg(src), offset, 0);

    /// <summary><c>ja label</c>: an unconditional jump with a 16-bit offset.</summary>
    public ProgramBuilder Ja(string label) =>
        Ja(Pending(label)).ReferTo(label, inImmediate: false);

    /// <summary><c>ja +offset</c>.</summary>
    public ProgramBuilder Ja(short offset) => Put(OpCodes.Ja, 0, 0, offset, 0);

    /// <summary><c>ja32 label</c> (<c>gotol</c>): an unconditional jump with a 32-bit distance in the immediate.</summary>
    public ProgramBuilder Ja32(string label) =>
        Ja32(Pending(label)).ReferTo(label, inImmediate: true);

    /// <summary><c>ja32 +offset</c>.</summary>
    public ProgramBuilder Ja32(int offset) => Put(OpCodes.Ja32, 0, 0, 0, offset);

    // ---- calls and exit ----

    /// <summary><c>call id</c>: calls the helper with this id (src 0).</summary>
    public ProgramBuilder Call(int helperId) => Put(OpCodes.Call, 0, 0, 0, helperId);

    /// <summary><c>call local label</c>: calls the local function that starts at <paramref name="label"/> (src 1).</summary>
    public ProgramBuilder CallLocal(string label) =>
        CallLocal(Pending(label)).ReferTo(label, inImmediate: true);

    /// <summary>A local call by a distance in slots relative to the next slot (src 1).</summary>
    public ProgramBuilder CallLocal(int offset) => Put(OpCodes.Call, 0, 1, 0, offset);

    /// <summary><c>callx reg</c>: calls the helper whose id is in <paramref name="target"/> (encoded in the dst field).</summary>
    public ProgramBuilder CallX(Register target) => Put(OpCodes.CallX, target, 0, 0, 0);

    /// <summary><c>exit</c>: return r0 from the function, or end the program.</summary>
    public ProgramBuilder Exit() => Put(OpCodes.Exit, 0, 0, 0, 0);

    // ---- lddw ----

    /// <summary><c>lddw dst, value</c>: a 64-bit immediate (two slots).</summary>
    public ProgramBuilder Lddw(Register dst, long value) => Lddw(dst, LddwSource.Immediate, (int)value, (int)(value >> 32));

    /// <summary><c>lddw dst, value</c> for an unsigned 64-bit value.</summary>
    public ProgramBuilder Lddw(Register dst, ulong value) => Lddw(dst, unchecked((long)value));

    /// <summary><c>lddw</c> with a source: the plain immediate (imm | nextImm &lt;&lt; 32) or a pseudo source (map by fd or index, map value, variable, code address).</summary>
    public ProgramBuilder Lddw(Register dst, LddwSource source, int imm, int nextImm = 0)
    {
        Defined(source);
        Put(OpCodes.Lddw, dst, (byte)source, 0, imm);
        slots.Add(new Instruction(0, 0, 0, 0, nextImm));
        return this;
    }

    // ---- output ----

    /// <summary>The program's slots with every label resolved.</summary>
    /// <exception cref="ProgramBuildException">An undefined or duplicate label, a label at the end, or a distance that does not fit.</exception>
    public Instruction[] ToInstructions()
    {
        if (duplicates.Count > 0)
        {
            var (label, slot) = duplicates[0];
            throw new ProgramBuildException(label, -1, $"label '{label}' is defined twice (at slot {labels[label]} and at slot {slot})");
        }

        var result = slots.ToArray();
        foreach (var reference in references)
        {
            if (!labels.TryGetValue(reference.Label, out int target))
            {
                throw new ProgramBuildException(reference.Label, reference.Slot, $"label '{reference.Label}' used at slot {reference.Slot} is not defined");
            }

            if (target >= result.Length)
            {
                throw new ProgramBuildException(reference.Label, reference.Slot, $"label '{reference.Label}' used at slot {reference.Slot} marks the end of the program (slot {target}), where there is no instruction");
            }

            long distance = (long)target - reference.Slot - 1;
            var insn = result[reference.Slot];
            if (reference.InImmediate)
            {
                result[reference.Slot] = insn.WithImm((int)distance);
            }
            else if (distance is < short.MinValue or > short.MaxValue)
            {
                throw new ProgramBuildException(reference.Label, reference.Slot, Invariant($"label '{reference.Label}' is {distance} slots from the jump at slot {reference.Slot}; a 16-bit offset reaches {short.MinValue}..{short.MaxValue} (use Ja32 for a longer unconditional jump)"));
            }
            else
            {
                result[reference.Slot] = insn.WithOffset((short)distance);
            }
        }

        return result;
    }

    /// <summary>The encoded program (8 bytes per slot, little-endian) with every label resolved.</summary>
    /// <exception cref="ProgramBuildException">See <see cref="ToInstructions"/>.</exception>
    public byte[] ToBytes() => Instruction.EncodeAll(ToInstructions());

    /// <summary>Resolves the labels and verifies the program (with <see cref="Verifier.Default"/> unless another verifier is given).</summary>
    /// <exception cref="ProgramBuildException">See <see cref="ToInstructions"/>.</exception>
    /// <exception cref="EbpfVerificationException">The verifier or a structural rule rejects the program.</exception>
    public EbpfProgram Build(IVerifier? verifier = null, string? name = null) =>
        EbpfProgram.Create(ToInstructions(), verifier ?? Verifier.Default, name);

    // ---- encoding helpers ----

    private ProgramBuilder Put(byte opCode, Register dst, byte src, short offset, int imm) =>
        Emit(new Instruction(opCode, Reg(dst), src, offset, imm));

    /// <summary>Checks a label name; the distance is patched in when the program is built.</summary>
    private static short Pending(string label)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        return 0;
    }

    /// <summary>Records that the last emitted slot targets <paramref name="label"/>.</summary>
    private ProgramBuilder ReferTo(string label, bool inImmediate)
    {
        references.Add(new LabelReference(slots.Count - 1, label, inImmediate));
        return this;
    }

    private static byte Reg(Register register)
    {
        if ((byte)register > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(register), register, "registers are r0-r10");
        }

        return (byte)register;
    }

    private static void Defined<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"not a defined {typeof(TEnum).Name}");
        }
    }

    private static int Swap(SwapWidth width)
    {
        Defined(width);
        return (int)width;
    }

    private static (AluOperation Operation, short Offset) Split(BinaryOperation operation) => operation switch
    {
        BinaryOperation.Add => (AluOperation.Add, 0),
        BinaryOperation.Sub => (AluOperation.Sub, 0),
        BinaryOperation.Mul => (AluOperation.Mul, 0),
        BinaryOperation.Div => (AluOperation.Div, 0),
        BinaryOperation.SDiv => (AluOperation.Div, 1),
        BinaryOperation.Or => (AluOperation.Or, 0),
        BinaryOperation.And => (AluOperation.And, 0),
        BinaryOperation.Lsh => (AluOperation.Lsh, 0),
        BinaryOperation.Rsh => (AluOperation.Rsh, 0),
        BinaryOperation.Mod => (AluOperation.Mod, 0),
        BinaryOperation.SMod => (AluOperation.Mod, 1),
        BinaryOperation.Xor => (AluOperation.Xor, 0),
        BinaryOperation.Mov => (AluOperation.Mov, 0),
        BinaryOperation.Arsh => (AluOperation.Arsh, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "not a defined BinaryOperation"),
    };

    private static byte AluOpCode(AluOperation operation, OperandSource source, OperandWidth width)
    {
        Defined(width);
        var cls = width == OperandWidth.Bits32 ? InstructionClass.Alu : InstructionClass.Alu64;
        return (byte)((byte)operation | (byte)source | (byte)cls);
    }

    private static byte JumpOpCode(JumpCondition condition, OperandSource source, OperandWidth width)
    {
        Defined(condition);
        Defined(width);
        var cls = width == OperandWidth.Bits32 ? InstructionClass.Jmp32 : InstructionClass.Jmp;
        return (byte)((byte)condition | (byte)source | (byte)cls);
    }

    private static byte MemoryOpCode(InstructionClass cls, AccessMode mode, AccessSize size)
    {
        Defined(size);
        return (byte)((byte)mode | (byte)size | (byte)cls);
    }
}
