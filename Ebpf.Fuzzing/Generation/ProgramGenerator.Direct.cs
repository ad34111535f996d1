using CsCheck;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

public static partial class ProgramGenerator
{
    /// <summary>
    /// Straight-line programs that name no r10 (ALU, lddw, loads, stores, atomics, forward jumps, checked loads): the
    /// shape that qualifies for the engines' direct entry (see <c>Ebpf.Execution.DirectEntry</c>) unless its budget is
    /// shorter than the program. The operations are those of <see cref="Program"/>, lowered the same way, with every r10
    /// (the prologue's stack pointer, stack bases) replaced by r1, so the former stack accesses land before the input.
    /// </summary>
    public static readonly Gen<GeneratedProgram> Stackless = StraightLine(keepFrameAccesses: false);

    /// <summary>
    /// Straight-line programs like <see cref="Stackless"/> that keep their loads, stores and atomics through r10 at a
    /// constant offset inside the default 512-byte frame (r10 their base, not their value): the shape that takes the
    /// direct entry with a frame of its own (<c>Ebpf.Execution.DirectEntry.FrameBytes</c>). Every other field that
    /// names r10 (the prologue's stack pointer copy, a base outside the frame) names r1 instead.
    /// </summary>
    public static readonly Gen<GeneratedProgram> Framed = StraightLine(keepFrameAccesses: true);

    /// <summary>The straight-line programs of <see cref="Stackless"/> and <see cref="Framed"/> (see <see cref="WithoutR10"/>).</summary>
    private static Gen<GeneratedProgram> StraightLine(bool keepFrameAccesses) => Gen.Select(
        Operation.Where(op => op.Kind is OpKind.Alu or OpKind.Lddw or OpKind.Load or OpKind.Store or OpKind.Atomic or OpKind.Jump or OpKind.CheckedLoad).Array[1, 32],
        Wide.Array[6],
        Gen.Frequency((1, Gen.Byte.Array[0, 8]), (4, Gen.Byte.Array[8, 64])),
        Gen.Int[0, 1000],
        (ops, registers, input, budget) => WithoutR10(Lower(ops, [], registers, input, budget, loops: false), keepFrameAccesses));

    /// <summary>
    /// <paramref name="generated"/> with every register field that names r10 naming r1 instead; with
    /// <paramref name="keepFrameAccesses"/>, except the base of a load, store or atomic at a constant offset inside a
    /// 512-byte frame whose other register field does not name r10.
    /// </summary>
    private static GeneratedProgram WithoutR10(GeneratedProgram generated, bool keepFrameAccesses)
    {
        var slots = generated.Slots.Select((slot, i) => (slot.Dst == 10 || slot.Src == 10) && !(keepFrameAccesses && IsFrameAccess(generated.Slots, i))
            ? new Instruction(slot.OpCode, slot.Dst == 10 ? (byte)1 : slot.Dst, slot.Src == 10 ? (byte)1 : slot.Src, slot.Offset, slot.Imm)
            : slot).ToArray();
        return generated with { Slots = slots };
    }

    /// <summary>
    /// True when slot <paramref name="i"/> is a load, store or atomic through r10 at a constant offset inside a 512-byte
    /// frame, its other register field not r10 (the direct entry's own rule, <c>DirectEntry.IsFrameAccess</c>).
    /// </summary>
    private static bool IsFrameAccess(Instruction[] slots, int i) =>
        (i == 0 || slots[i - 1].OpCode != OpCodes.Lddw)
        && InstructionDecoder.TryDecode(slots, i, out var insn, out _)
        && Ebpf.Execution.DirectEntry.IsFrameAccess(insn, ExecutionOptions.Default.StackSize);
}
