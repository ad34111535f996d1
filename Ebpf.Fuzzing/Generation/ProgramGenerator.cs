using CsCheck;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// CsCheck generators of valid eBPF programs for the differential test: a prologue that gives the registers
/// interesting values and pointers (r8 into the input, r9 into the stack), then straight-line ALU operations with edge
/// values (division by zero, INT_MIN / -1, oversized shift counts), loads, stores and atomics on the stack, the input
/// and stray addresses, legacy packet loads, kernel-style bounds-checked packet reads,
/// <c>bpf_map_lookup_elem</c>, <c>bpf_map_update_elem</c>/<c>bpf_map_delete_elem</c> and <c>bpf_tail_call</c> at their
/// kernel ids, test helper calls and <c>callx</c>, forward jumps (<c>ja</c> and <c>gotol</c>) and, with a budget,
/// backward jumps (loops), unreachable code that jumps anywhere in its function, ending in <c>exit</c>; one program in
/// <see cref="GeneratedCases.GuardedProgramEvery"/> of a campaign comes from <see cref="Guarded"/> instead.
/// </summary>
public static partial class ProgramGenerator
{
    /// <summary>The frame size the generated programs assume (the default).</summary>
    public const int StackSize = 512;

    /// <summary>
    /// The registers that hold data. r1, r8, r9 and r10 hold host addresses, which differ between runs, so they serve
    /// only as memory bases: were an address to reach r0 or memory, the engines' results could not be compared.
    /// </summary>
    private static readonly byte[] DataRegisters = [0, 2, 3, 4, 5, 6, 7];
    private static readonly byte[] SizeBits = [0x10, 0x08, 0x00, 0x18];
    private static readonly int[] Sizes = [1, 2, 4, 8];
    private static readonly int[] SwapWidths = [16, 32, 64];
    private static readonly int[] HelperIds =
        [GeneratedEnvironment.MixHelper, GeneratedEnvironment.SumHelper, GeneratedEnvironment.StopHelper, GeneratedEnvironment.FailHelper];

    private static readonly int[] CallxIds =
        [GeneratedEnvironment.MixHelper, GeneratedEnvironment.SumHelper, GeneratedEnvironment.StopHelper, GeneratedEnvironment.FailHelper, (int)Helpers.LinuxHelperIds.MapLookupElem, 77];

    private static readonly (AluOperation Op, short Offset)[] AluForms =
    [
        (AluOperation.Add, 0), (AluOperation.Sub, 0), (AluOperation.Mul, 0), (AluOperation.Div, 0), (AluOperation.Div, 1),
        (AluOperation.Mod, 0), (AluOperation.Mod, 1), (AluOperation.Or, 0), (AluOperation.And, 0), (AluOperation.Lsh, 0),
        (AluOperation.Rsh, 0), (AluOperation.Arsh, 0), (AluOperation.Xor, 0), (AluOperation.Mov, 0), (AluOperation.Mov, 8),
        (AluOperation.Mov, 16), (AluOperation.Mov, 32), (AluOperation.Neg, 0), (AluOperation.End, 0),
    ];

    private static readonly AtomicOperation[] AtomicForms =
    [
        AtomicOperation.Add, AtomicOperation.Or, AtomicOperation.And, AtomicOperation.Xor, AtomicOperation.FetchAdd,
        AtomicOperation.FetchOr, AtomicOperation.FetchAnd, AtomicOperation.FetchXor, AtomicOperation.Exchange,
        AtomicOperation.CompareExchange,
    ];

    private static readonly JumpOperation[] JumpForms =
    [
        JumpOperation.Jeq, JumpOperation.Jgt, JumpOperation.Jge, JumpOperation.Jset, JumpOperation.Jne, JumpOperation.Jsgt,
        JumpOperation.Jsge, JumpOperation.Jlt, JumpOperation.Jle, JumpOperation.Jslt, JumpOperation.Jsle, JumpOperation.Ja,
    ];

    /// <summary>32-bit immediates, biased to the edges.</summary>
    public static readonly Gen<int> Immediate = Gen.Frequency(
        (4, Gen.OneOf(0, 1, -1, 2, 3, 7, 8, 16, 31, 32, 33, 63, 64, 65, int.MinValue, int.MaxValue, 0x7fff, 0x8000, 0xffff)),
        (3, Gen.Int[-300, 300]),
        (2, Gen.Int));

    /// <summary>64-bit values, biased to the edges.</summary>
    public static readonly Gen<long> Wide = Gen.Frequency(
        (3, Gen.OneOf(0L, 1L, -1L, long.MinValue, long.MaxValue, 0x8000_0000L, 0xffff_ffffL, 0x1_0000_0000L, -0x8000_0000L, 0x7fff_ffffL)),
        (2, Gen.Long[-1000, 1000]),
        (2, Gen.Long));

    /// <summary>One raw operation.</summary>
    public static readonly Gen<OpSpec> Operation = Gen.Select(
        Gen.Frequency(
            (12, Gen.Const(OpKind.Alu)),
            (2, Gen.Const(OpKind.Lddw)),
            (5, Gen.Const(OpKind.Load)),
            (5, Gen.Const(OpKind.Store)),
            (2, Gen.Const(OpKind.Atomic)),
            (5, Gen.Const(OpKind.Jump)),
            (1, Gen.Const(OpKind.PacketLoad)),
            (1, Gen.Const(OpKind.HelperCall)),
            (1, Gen.Const(OpKind.CallX)),
            (2, Gen.Const(OpKind.LocalCall)),
            (1, Gen.Const(OpKind.Unreachable)),
            (1, Gen.Const(OpKind.CheckedLoad)),
            (1, Gen.Const(OpKind.MapLookup)),
            (1, Gen.Const(OpKind.MapUpdate)),
            (1, Gen.Const(OpKind.TailCall))),
        Gen.Int[0, 10_000],
        Gen.Int[0, 100],
        Gen.Int[0, 100],
        Gen.Int[0, 10_000],
        Immediate,
        Wide,
        Gen.Int[0, 10_000],
        (kind, variant, dst, src, offset, imm, wide, target) => new OpSpec(kind, variant, dst, src, offset, imm, wide, target));

    /// <summary>The straight-line body of the local function (no jumps or calls of its own).</summary>
    public static readonly Gen<OpSpec[]> FunctionBody = Operation
        .Where(op => op.Kind is OpKind.Alu or OpKind.Lddw or OpKind.Load or OpKind.Store or OpKind.Atomic)
        .Array[0, 6];

    /// <summary>A whole program with its input and budget.</summary>
    public static readonly Gen<GeneratedProgram> Program = Programs(1, 32);

    /// <summary>
    /// Long programs (the campaign's shape): a main function of <paramref name="minOperations"/> to
    /// <paramref name="maxOperations"/> operations, longer than a lowered IL chunk, with jumps anywhere in it and
    /// unreachable code.
    /// </summary>
    public static Gen<GeneratedProgram> Programs(int minOperations, int maxOperations) => Gen.Select(
        Operation.Array[minOperations, maxOperations],
        FunctionBody,
        Wide.Array[6],
        Gen.Frequency((1, Gen.Byte.Array[0, 8]), (4, Gen.Byte.Array[8, 64])),
        Gen.Int[0, 1000],
        Gen.Bool,
        (ops, body, registers, input, budget, loops) => Lower(ops, body, registers, input, budget, loops));

    /// <summary>
    /// Turns raw operations into a valid program: every field is mapped onto its valid range. The main function is
    /// followed by one local function (the body, then, when <paramref name="loops"/> and the budget allow, a call of
    /// itself that recurses while r0 is odd, so some runs exceed the call depth) that the main function's local calls
    /// enter.
    /// </summary>
    public static GeneratedProgram Lower(OpSpec[] ops, OpSpec[] body, long[] registers, byte[] input, int budgetSeed, bool loops)
    {
        var slots = new List<Instruction>();

        // Prologue: r0, r3-r7 get the generated values; r8 = r1 + 4 (into the input); r9 = r10 - 64 (into the stack).
        byte[] initialised = [0, 3, 4, 5, 6, 7];
        for (int i = 0; i < initialised.Length; i++)
        {
            slots.AddRange(LddwSlots(initialised[i], (ulong)registers[i]));
        }

        slots.Add(I(OpCodes.Mov64Reg, 8, 1));
        slots.Add(I(OpCodes.Add64Imm, 8, imm: 4));
        slots.Add(I(OpCodes.Mov64Reg, 9, 10));
        slots.Add(I(OpCodes.Add64Imm, 9, imm: -64));

        // Where each operation starts (jump targets are operation starts; the last entry is the final exit).
        var starts = new int[ops.Length + 1];
        int position = slots.Count;
        for (int i = 0; i < ops.Length; i++)
        {
            starts[i] = position;
            position += ops[i].Kind switch
            {
                OpKind.Lddw or OpKind.CallX => 2,
                OpKind.CheckedLoad => 3,
                OpKind.MapLookup => MapLookupLength,
                OpKind.MapUpdate => MapUpdateLength,
                OpKind.TailCall => TailCallLength,
                OpKind.Unreachable => 1 + UnreachableLength(ops[i]),
                _ => 1,
            };
        }

        starts[ops.Length] = position;
        bool hasBackwardJump = false;
        for (int i = 0; i < ops.Length; i++)
        {
            slots.AddRange(LowerOne(ops[i], i, starts, input.Length, loops, ref hasBackwardJump));
        }

        slots.Add(I(OpCodes.Exit));

        // The local function: its body, an optional self-call while r0 is odd, exit.
        int function = slots.Count;
        for (int i = 0; i < slots.Count; i++)
        {
            if (slots[i].OpCode == OpCodes.Call && slots[i].Src == 1)
            {
                slots[i] = slots[i].WithImm(function - i - 1);
            }
        }

        foreach (var op in body)
        {
            bool ignored = false;
            slots.AddRange(LowerOne(op, 0, [0, 1], input.Length, false, ref ignored));
        }

        if (loops)
        {
            slots.Add(I(OpCodes.JsetImm, 0, 0, 1, 1));
            slots.Add(I(OpCodes.Ja, offset: 1));
            slots.Add(I(OpCodes.Call, 0, 1, 0, function - slots.Count - 1));
            hasBackwardJump = true;
        }

        slots.Add(I(OpCodes.Exit));
        long? budget = hasBackwardJump
            ? 30 + (budgetSeed * 2L)
            : budgetSeed % 4 == 0 ? 1 + (budgetSeed % slots.Count) : null;
        return new GeneratedProgram(slots.ToArray(), input, budget);
    }

    private static Instruction[] LowerOne(OpSpec op, int index, int[] starts, int inputLength, bool loops, ref bool backward)
    {
        int v = op.Variant;
        byte dst = Pick(DataRegisters, op.Dst);
        byte src = Pick(DataRegisters, op.Src);
        switch (op.Kind)
        {
            case OpKind.Alu:
                return [Alu(op, dst, src)];
            case OpKind.Lddw:
                return LddwSlots(dst, (ulong)op.Wide);
            case OpKind.Load:
            {
                int sizeIndex = v % 4;
                bool signed = (v / 4) % 2 == 1 && sizeIndex != 3;
                var (baseRegister, offset) = Address(v / 8, op, src, inputLength, Sizes[sizeIndex]);
                return [I((byte)((signed ? 0x81 : 0x61) | SizeBits[sizeIndex]), dst, baseRegister, offset)];
            }

            case OpKind.Store:
            {
                bool immediate = v % 2 == 0;
                int sizeIndex = (v / 2) % 4;
                var (baseRegister, offset) = Address(v / 8, op, src, inputLength, Sizes[sizeIndex]);
                return [I((byte)((immediate ? 0x62 : 0x63) | SizeBits[sizeIndex]), baseRegister, immediate ? (byte)0 : src, offset, immediate ? op.Imm : 0)];
            }

            case OpKind.Atomic:
            {
                bool wide = v % 2 == 0;
                var form = Pick(AtomicForms, v / 2);
                (byte baseRegister, short offset) = ((v / 20) % 3) switch
                {
                    0 => ((byte)10, (short)((-8 * (1 + (op.Offset % 8))) - ((v / 60) % 2 == 1 ? 3 : 0))),
                    1 => ((byte)1, (short)((op.Offset % (inputLength + 8)) - 4)),
                    _ => ((byte)9, (short)((op.Offset % 80) - 8)),
                };
                return [I(wide ? OpCodes.AtomicDW : OpCodes.AtomicW, baseRegister, dst, offset, (int)form)];
            }

            case OpKind.Jump:
            {
                var form = Pick(JumpForms, v / 4);
                bool wide = v % 2 == 0;
                bool register = (v / 2) % 2 == 1;
                bool goBack = loops && (v / 48) % 3 == 0;
                int target = goBack
                    ? op.Target % (index + 1)
                    : index + 1 + (op.Target % (starts.Length - 1 - index));
                backward |= goBack;
                short offset = (short)(starts[target] - starts[index] - 1);
                if (form == JumpOperation.Ja)
                {
                    // ja (16-bit offset) or, in the JMP32 class, gotol (32-bit immediate).
                    return wide ? [I(OpCodes.Ja, offset: offset)] : [I(OpCodes.Ja32, imm: offset)];
                }

                byte opCode = (byte)((wide ? 0x05 : 0x06) | (byte)form | (register ? 0x08 : 0));
                return [I(opCode, dst, register ? src : (byte)0, offset, register ? 0 : op.Imm)];
            }

            case OpKind.PacketLoad:
            {
                int sizeIndex = (v / 2) % 4;
                return v % 2 == 0
                    ? [I((byte)(0x20 | SizeBits[sizeIndex]), imm: (op.Offset % (inputLength + 8)) - 2)]
                    : [I((byte)(0x40 | SizeBits[sizeIndex]), src: src, imm: (op.Offset % 16) - 4)];
            }

            case OpKind.HelperCall:
                return [I(OpCodes.Call, imm: Pick(HelperIds, v))];
            case OpKind.LocalCall:
                // The offset is set once the local function's position is known.
                return [I(OpCodes.Call, src: 1)];
            case OpKind.Unreachable:
                return Unreachable(op, index, starts);
            case OpKind.CheckedLoad:
            {
                // A kernel-style bounds check before a packet read: when offset + size <= r2 (the length, unless an
                // earlier operation changed r2), load from r1 + offset.
                int sizeIndex = v % 4;
                short offset = (short)(op.Offset % (inputLength + 4));
                return
                [
                    I(OpCodes.Mov64Imm, dst, imm: offset + Sizes[sizeIndex]),
                    I(OpCodes.JgtReg, dst, 2, 1),
                    I((byte)(0x61 | SizeBits[sizeIndex]), dst, 1, offset),
                ];
            }

            case OpKind.MapLookup:
                // bpf_map_lookup_elem on one of the three maps programs read, with the kernel's null check (one in four
                // without it): r0 = 8 bytes of the value
                // at an offset that is sometimes past its end, written back where they were read in one of two
                // programs (the map stays as it was). The address never outlives the shape.
                return MapLookupSlots(GeneratedEnvironment.LookupMap(op.Imm >> 3), op.Imm & 7, v % 4 != 3, 8, Pick(MapOffsets, v / 8), (v / 4) % 2 == 1, DifferentialContext);
            case OpKind.MapUpdate:
                return MapUpdateSlots(op, DifferentialContext);
            case OpKind.TailCall:
                return TailCallShape(op.Imm & 7, DifferentialContext);
            case OpKind.CallX:
                return [I(OpCodes.Mov64Imm, dst, imm: Pick(CallxIds, v)), I(OpCodes.CallX, dst)];
            default:
                throw new ArgumentException($"{op.Kind} belongs to the guarded programs (see {nameof(Guarded)}), not to the differential ones", nameof(op));
        }
    }

    private static int UnreachableLength(OpSpec op) => 1 + (op.Variant % 4);

    /// <summary>
    /// <c>ja</c> over 1-4 slots nothing reaches: conditional or unconditional jumps to any operation of the function
    /// (backward included: never run, so no budget is needed) or plain moves.
    /// </summary>
    private static Instruction[] Unreachable(OpSpec op, int index, int[] starts)
    {
        int length = UnreachableLength(op);
        var slots = new Instruction[1 + length];
        slots[0] = I(OpCodes.Ja, offset: (short)length);
        for (int k = 1; k <= length; k++)
        {
            int seed = (op.Target / k) + (op.Imm * k);
            int position = starts[index] + k;
            int target = starts[(seed & int.MaxValue) % starts.Length];
            short offset = (short)(target - position - 1);
            slots[k] = (seed % 3) switch
            {
                0 => I(OpCodes.Mov64Imm, Pick(DataRegisters, seed), imm: seed),
                1 => I(OpCodes.Ja, offset: offset),
                _ => I(OpCodes.JeqImm, Pick(DataRegisters, seed), offset: offset, imm: seed),
            };
        }

        return slots;
    }

    private static Instruction Alu(OpSpec op, byte dst, byte src)
    {
        int v = op.Variant;
        bool wide = v % 2 == 0;
        bool register = (v / 2) % 2 == 1;
        var (operation, offset) = Pick(AluForms, v / 4);
        byte cls = wide ? (byte)0x07 : (byte)0x04;
        switch (operation)
        {
            case AluOperation.Mov when offset != 0:
                // movsx: register source; 32-bit sign extension only in ALU64.
                return I((byte)((offset == 32 ? 0x07 : cls) | 0xb0 | 0x08), dst, src, offset);
            case AluOperation.Neg:
                return I((byte)(cls | 0x80), dst);
            case AluOperation.End:
            {
                int width = Pick(SwapWidths, op.Imm & 0xff);
                byte opCode = ((v / 8) % 3) switch
                {
                    0 => OpCodes.Le,
                    1 => OpCodes.Be,
                    _ => OpCodes.Bswap,
                };
                return I(opCode, dst, imm: width);
            }

            default:
                return register
                    ? I((byte)(cls | (byte)operation | 0x08), dst, src, offset)
                    : I((byte)(cls | (byte)operation), dst, 0, offset, op.Imm);
        }
    }

    /// <summary>
    /// A base register and offset: mostly inside the stack frame (r10, r9) or the input (r1, r8), sometimes just
    /// outside them, rarely a data register (an arbitrary number, almost never a valid address).
    /// </summary>
    private static (byte Base, short Offset) Address(int choice, OpSpec op, byte dataRegister, int inputLength, int size) =>
        (choice % 20) switch
        {
            < 7 => (10, (short)-(op.Offset % (StackSize + 4))),
            < 10 => (9, (short)((op.Offset % 128) - 64)),
            < 15 => (1, (short)((op.Offset % (inputLength + 2)) - 1)),
            < 19 => (8, (short)((op.Offset % (inputLength + 1)) - 4)),
            _ => (dataRegister, (short)((op.Offset % 64) - 32)),
        };

    private static short[] MapOffsets { get; } = [0, 8, 12];

    private static T Pick<T>(T[] options, int raw) => options[(raw & int.MaxValue) % options.Length];

    private static Instruction I(byte opCode, byte dst = 0, byte src = 0, short offset = 0, int imm = 0) => new(opCode, dst, src, offset, imm);

    private static Instruction[] LddwSlots(byte dst, ulong value) =>
        [new(OpCodes.Lddw, dst, 0, 0, (int)(uint)value), new(0, 0, 0, 0, (int)(uint)(value >> 32))];
}
