using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

/// <summary>The kernel-program shapes both families share: Linux map helpers and tail calls at their kernel ids.</summary>
public static partial class ProgramGenerator
{
    private const int MapLookupLength = 13;
    private const int MapUpdateLength = 14;
    private const int TailCallLength = 8;

    /// <summary>Where a differential program keeps its input address: r8 holds it plus 4 (r1 is rebuilt from it).</summary>
    private static readonly (byte Register, int Offset) DifferentialContext = (8, -4);

    /// <summary>Where a guarded program keeps its input address: r6.</summary>
    private static readonly (byte Register, int Offset) GuardedContext = (6, 0);

    /// <summary>
    /// <c>bpf_tail_call(r1, tails, index)</c> with r1 as it is: the slots a tail-call target uses (4 slots).
    /// </summary>
    internal static Instruction[] TailCallSlots(int index) =>
    [
        .. MapSlots(2, GeneratedEnvironment.TailsMap),
        I(OpCodes.Mov64Imm, 3, imm: index),
        I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
    ];

    /// <summary>
    /// A lookup of <paramref name="key"/> in the map at <paramref name="mapIndex"/> (<c>values</c>, <c>hashed</c> or
    /// <c>recent</c>, see <see cref="GeneratedEnvironment.LookupMap"/>) through <c>bpf_map_lookup_elem</c>: with
    /// <paramref name="nullCheck"/>, the kernel's null check before the value is touched; then r5 = the
    /// <paramref name="size"/> bytes at <paramref name="offset"/> of the value, written back where they were read when
    /// <paramref name="writeBack"/> (the map stays as it was), and r0 = r5. r1 is rebuilt from
    /// <paramref name="context"/> at the end and r2 cleared (<see cref="MapLookupLength"/> slots).
    /// </summary>
    private static Instruction[] MapLookupSlots(int mapIndex, int key, bool nullCheck, int size, int offset, bool writeBack, (byte Register, int Offset) context)
    {
        int sizeIndex = int.Log2(size);
        return
        [
            I(OpCodes.StW, 10, offset: -4, imm: key),
            .. MapSlots(1, mapIndex),
            I(OpCodes.Mov64Reg, 2, 10),
            I(OpCodes.Add64Imm, 2, imm: -4),
            I(OpCodes.Call, imm: (int)LinuxHelperIds.MapLookupElem),
            I(OpCodes.Mov64Imm, 2, imm: 0), // r2 held a stack address: no address may reach data
            nullCheck ? I(OpCodes.JeqImm, 0, offset: 3, imm: 0) : I(OpCodes.Mov64Imm, 3, imm: 0),
            I((byte)(0x61 | SizeBits[sizeIndex]), 5, 0, (short)offset),
            writeBack ? I((byte)(0x63 | SizeBits[sizeIndex]), 0, 5, (short)offset) : I(OpCodes.Mov64Reg, 3, 5),
            I(OpCodes.Mov64Reg, 0, 5),
            .. RestoreContext(context),
        ];
    }

    /// <summary>
    /// <c>bpf_map_update_elem</c> (flags 0-2) or <c>bpf_map_delete_elem</c> of a key 0-5 of <c>sink</c>, which no
    /// program reads, so the outcome (r0 = 0 or an error number) is the same on every engine and thread; r2 and r3 are
    /// cleared afterwards (<see cref="MapUpdateLength"/> slots).
    /// </summary>
    private static Instruction[] MapUpdateSlots(OpSpec op, (byte Register, int Offset) context) =>
    [
        I(OpCodes.StDW, 10, offset: -16, imm: op.Imm),
        I(OpCodes.StW, 10, offset: -4, imm: (op.Offset & int.MaxValue) % 6),
        .. MapSlots(1, GeneratedEnvironment.SinkMap),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, imm: -4),
        I(OpCodes.Mov64Reg, 3, 10),
        I(OpCodes.Add64Imm, 3, imm: -16),
        I(OpCodes.Mov64Imm, 4, imm: (op.Variant & int.MaxValue) % 3),
        I(OpCodes.Call, imm: (int)((op.Variant & int.MaxValue) / 3 % 2 == 0 ? LinuxHelperIds.MapUpdateElem : LinuxHelperIds.MapDeleteElem)),
        I(OpCodes.Mov64Imm, 2, imm: 0), // r2 and r3 held stack addresses: no address may reach data
        I(OpCodes.Mov64Imm, 3, imm: 0),
        .. RestoreContext(context),
    ];

    /// <summary>
    /// <c>bpf_tail_call(input, tails, index)</c>: indices 0 and 1 hold programs (when the environment has them), 2-7
    /// fall through (<see cref="TailCallLength"/> slots).
    /// </summary>
    private static Instruction[] TailCallShape(int index, (byte Register, int Offset) context) =>
        [.. RestoreContext(context), .. TailCallSlots(index), .. RestoreContext(context)];

    private static Instruction[] RestoreContext((byte Register, int Offset) context) =>
        [I(OpCodes.Mov64Reg, 1, context.Register), I(OpCodes.Add64Imm, 1, imm: context.Offset)];

    private static Instruction[] MapSlots(byte dst, int mapIndex) =>
        [new(OpCodes.Lddw, dst, (byte)LddwSource.MapByIndex, 0, mapIndex), new(0, 0, 0, 0, 0)];
}
