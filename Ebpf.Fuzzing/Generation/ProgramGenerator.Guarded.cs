using CsCheck;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The guarded family: the shapes the proving verifier reasons about, each drawn correct or off by a few bytes, so
/// that the soundness property (a proven access never trips its check, a strictly verified program never faults) is
/// tested on programs with many proofs.
/// </summary>
public static partial class ProgramGenerator
{
    /// <summary>One raw operation of a guarded program.</summary>
    public static readonly Gen<OpSpec> GuardedOperation = Gen.Select(
        Gen.Frequency(
            (3, Gen.Const(OpKind.EndCheckedLoad)),
            (3, Gen.Const(OpKind.CheckedLoad)),
            (3, Gen.Const(OpKind.IndexCheckedLoad)),
            (3, Gen.Const(OpKind.Load)),
            (3, Gen.Const(OpKind.MapLookup)),
            (3, Gen.Const(OpKind.StackPointerCall)),
            (3, Gen.Const(OpKind.StackRead)),
            (3, Gen.Const(OpKind.Noise)),
            (1, Gen.Const(OpKind.MapUpdate)),
            (1, Gen.Const(OpKind.TailCall))),
        Gen.Int[0, 10_000],
        Gen.Int[0, 10_000],
        Immediate,
        Immediate,
        (kind, variant, offset, imm, second) => new OpSpec(kind, variant, 0, 0, offset, imm, second, 0));

    /// <summary>
    /// Guarded programs: r6 = input, r7 = input end, r8 = length (callee-saved: they survive helper and local calls),
    /// then 1-6 guarded operations: input reads behind a pointer-versus-end check, behind a length check, through an
    /// index checked against the length, and unchecked; map lookups with and without a null check, at offsets in and
    /// past the value; stack slots passed to a local call that writes through the pointer (in or past the caller's
    /// frame); stack reads, sometimes of bytes never written; map updates, tail calls and arithmetic noise on r0 and r5.
    /// </summary>
    public static readonly Gen<GeneratedProgram> Guarded = Gen.Select(
        GuardedOperation.Array[1, 6],
        Gen.Byte.Array[0, 41],
        LowerGuarded);

    /// <summary>Turns raw guarded operations into a program (see <see cref="Guarded"/>); no loops, so no budget.</summary>
    /// <param name="ops">The operations: kinds of <see cref="GuardedOperation"/>.</param>
    /// <param name="input">The memory the program runs on.</param>
    /// <exception cref="ArgumentException">An operation kind that is not a guarded one.</exception>
    public static GeneratedProgram LowerGuarded(OpSpec[] ops, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(input);
        var code = new List<Instruction>
        {
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.Mov64Reg, 7, 1),
            I(OpCodes.Add64Reg, 7, 2),
            I(OpCodes.Mov64Reg, 8, 2),
            I(OpCodes.Mov64Imm, 0),
        };
        foreach (var op in ops)
        {
            code.AddRange(LowerGuardedOne(op));
        }

        code.Add(I(OpCodes.Exit));
        int function = code.Count;
        if (code.Exists(s => s.OpCode == OpCodes.Call && s.Src == 1))
        {
            for (int pc = 0; pc < function; pc++)
            {
                if (code[pc].OpCode == OpCodes.Call && code[pc].Src == 1)
                {
                    code[pc] = code[pc].WithImm(function - pc - 1);
                }
            }

            // The local function: r0 = [r1] + 1; [r1] = r0; r0 = 0.
            code.Add(I(OpCodes.LdxDW, 0, 1));
            code.Add(I(OpCodes.Add64Imm, 0, imm: 1));
            code.Add(I(OpCodes.StxDW, 1, 0));
            code.Add(I(OpCodes.Mov64Imm, 0));
            code.Add(I(OpCodes.Exit));
        }

        return new GeneratedProgram(code.ToArray(), input, null);
    }

    private static Instruction[] LowerGuardedOne(OpSpec op)
    {
        int v = op.Variant & int.MaxValue;
        int slack = v % 4 == 0 ? 1 + (v / 4 % 3) : 0; // one in four is off by a few bytes
        int sizeIndex = v / 16 % 4;
        int size = Sizes[sizeIndex];
        byte load = (byte)(0x61 | SizeBits[sizeIndex]);
        int reach = size + ((op.Offset & int.MaxValue) % (40 - size)); // a bound in [size, 40)
        switch (op.Kind)
        {
            case OpKind.EndCheckedLoad: // if (p + k > end) skip; r5 = [p + k - size + slack]
                return
                [
                    I(OpCodes.Mov64Reg, 3, 6),
                    I(OpCodes.Add64Imm, 3, imm: reach),
                    I(OpCodes.JgtReg, 3, 7, 1),
                    I(load, 5, 6, (short)(reach - size + slack)),
                ];
            case OpKind.CheckedLoad: // if (len < n) skip; r5 = [p + n - size + slack]
                return [I(OpCodes.JltImm, 8, 0, 1, reach), I(load, 5, 6, (short)(reach - size + slack))];
            case OpKind.IndexCheckedLoad: // i = p[0] (checked); if (i + slack >= len) skip; r5 = p[i + slack]
                return
                [
                    I(OpCodes.JltImm, 8, 0, 6, 1),
                    I(OpCodes.LdxB, 4, 6),
                    I(OpCodes.Add64Imm, 4, imm: -slack),
                    I(OpCodes.JgeReg, 4, 8, 3),
                    I(OpCodes.Mov64Reg, 3, 6),
                    I(OpCodes.Add64Reg, 3, 4),
                    I(OpCodes.LdxB, 5, 3, (short)slack),
                ];
            case OpKind.Load: // unchecked
                return [I(load, 5, 6, (short)((op.Offset & int.MaxValue) % 24))];
            case OpKind.MapLookup: // key 0-5 (4 and 5 miss, and one key of each hash map), two in three with the null check
                return MapLookupSlots(GeneratedEnvironment.LookupMap((op.Imm & int.MaxValue) / 6), (op.Imm & int.MaxValue) % 6, v / 64 % 3 != 0, size, ((op.Offset & int.MaxValue) % (GeneratedEnvironment.ValueSize - size + 1)) + slack, v / 192 % 2 == 0, GuardedContext);
            case OpKind.StackPointerCall: // [r10 - 8] handed to the local function, which writes through it
                return
                [
                    I(OpCodes.StDW, 10, offset: -8, imm: op.Imm),
                    I(OpCodes.Mov64Reg, 1, 10),
                    I(OpCodes.Add64Imm, 1, imm: -8 + (slack * 8)),
                    I(OpCodes.Call, src: 1),
                    I(OpCodes.LdxDW, 5, 10, -8),
                ];
            case OpKind.StackRead: // sometimes of bytes never written
                return [I(OpCodes.StW, 10, offset: -16, imm: 3), I(load, 5, 10, (short)(-16 - (slack * 4)))];
            case OpKind.Noise:
                return [I(OpCodes.Mov64Imm, 5, imm: op.Imm), I(OpCodes.Add64Reg, 0, 5), I(OpCodes.And64Imm, 0, imm: (int)op.Wide)];
            case OpKind.MapUpdate:
                return MapUpdateSlots(op, GuardedContext);
            case OpKind.TailCall:
                return TailCallShape(op.Imm & 7, GuardedContext);
            default:
                throw new ArgumentException($"{op.Kind} is not an operation of the guarded programs", nameof(op));
        }
    }
}
