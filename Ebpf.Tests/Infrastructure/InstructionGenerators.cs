using CsCheck;
using Ebpf.Isa;

namespace Ebpf.Tests.Infrastructure;

/// <summary>Random single instruction slots for the property tests of the assembler and the verifier.</summary>
public static class InstructionGenerators
{
    // Every opcode byte the instruction set defines.
    private static readonly byte[] DefinedOpCodes =
        Enumerable.Range(0, 256).Select(i => (byte)i).Where(OpCodeTable.IsDefined).ToArray();

    /// <summary>
    /// Slots with mostly defined opcodes and small or meaningful fields (registers up to r10, common offsets, atomic
    /// operation codes and sizes as immediates), with a minority of arbitrary values in every field, so that both
    /// well-formed and malformed instructions occur often (a uniformly random 64-bit word is almost always malformed).
    /// </summary>
    public static readonly Gen<Instruction> PlausibleSlot = Gen.Select(
        Gen.Frequency((6, Gen.OneOf(DefinedOpCodes)), (1, Gen.Byte)),
        Gen.Frequency((6, Gen.Int[0, 10]), (1, Gen.Int[0, 15])),
        Gen.Frequency((6, Gen.Int[0, 10]), (1, Gen.Int[0, 15])),
        Gen.Frequency((6, Gen.Const((short)0)), (2, Gen.OneOf<short>(1, 2, 8, 16, 32, -1)), (1, Gen.Short)),
        Gen.Frequency((4, Gen.Const(0)), (3, Gen.OneOf(1, 2, 16, 32, 64, 0x01, 0x40, 0x41, 0xa0, 0xe1, 0xf1, -1)), (1, Gen.Int)),
        (op, dst, src, off, imm) => new Instruction(op, (byte)dst, (byte)src, off, imm));
}
