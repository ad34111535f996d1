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
    public static readonly Gen<GeneratedProgram> Stackless = Gen.Select(
        Operation.Where(op => op.Kind is OpKind.Alu or OpKind.Lddw or OpKind.Load or OpKind.Store or OpKind.Atomic or OpKind.Jump or OpKind.CheckedLoad).Array[1, 32],
        Wide.Array[6],
        Gen.Frequency((1, Gen.Byte.Array[0, 8]), (4, Gen.Byte.Array[8, 64])),
        Gen.Int[0, 1000],
        (ops, registers, input, budget) => WithoutR10(Lower(ops, [], registers, input, budget, loops: false)));

    /// <summary><paramref name="generated"/> with every register field that names r10 naming r1 instead.</summary>
    private static GeneratedProgram WithoutR10(GeneratedProgram generated)
    {
        var slots = generated.Slots.Select(slot => slot.Dst == 10 || slot.Src == 10
            ? new Instruction(slot.OpCode, slot.Dst == 10 ? (byte)1 : slot.Dst, slot.Src == 10 ? (byte)1 : slot.Src, slot.Offset, slot.Imm)
            : slot).ToArray();
        return generated with { Slots = slots };
    }
}
