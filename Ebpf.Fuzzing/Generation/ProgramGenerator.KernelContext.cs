using CsCheck;
using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Kernel;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The kernel family: programs written as for the Linux kernel (XDP, tc classifier, socket filter) that run through
/// <see cref="KernelProgram"/> on a packet: context loads of the packet pointers (rewritten at load time) and of the
/// numeric fields, bounds-checked packet reads and writes, metadata reads, the packet helpers of the type, map lookups
/// with and without their null check, map updates and tail calls. Each shape is drawn correct or off by a few bytes.
/// </summary>
public static partial class ProgramGenerator
{
    /// <summary>The context pointer (r1 at entry, kept in a callee-saved register).</summary>
    private const byte ContextRegister = 6;

    /// <summary>The packet start (<c>data</c>), reloaded after each packet helper.</summary>
    private const byte DataRegister = 7;

    /// <summary>The packet end (<c>data_end</c>), reloaded with <see cref="DataRegister"/>.</summary>
    private const byte DataEndRegister = 8;

    /// <summary>The sum of every value read, returned in r0 (so every read shows in the verdict).</summary>
    private const byte SumRegister = 9;

    /// <summary>Head and tail adjustments: in the frame, at its edges, past them, and absurd.</summary>
    private static readonly int[] PacketDeltas = [-5000, -300, -64, -20, -14, -8, -4, -1, 0, 1, 4, 8, 14, 20, 64, 300, 5000];

    /// <summary>Metadata adjustments: multiples of 4 (allowed), others and too large.</summary>
    private static readonly int[] MetaDeltas = [-256, -36, -32, -8, -4, -3, 0, 4, 8];

    /// <summary>New lengths for <c>bpf_skb_change_tail</c> and room for <c>bpf_skb_change_head</c>.</summary>
    private static readonly int[] SkbLengths = [0, 1, 13, 14, 20, 34, 60, 100, 1500, 20000];

    /// <summary>VLAN protocols as the helper takes them (network order): 802.1Q, 802.1ad, and neither.</summary>
    private static readonly int[] VlanProtocols = [0x0081, 0xa888, 0x3412];

    /// <summary>Sizes handed to the byte-copying helpers (the stack buffer holds 16).</summary>
    private static readonly int[] CopyLengths = [1, 2, 4, 8, 14, 16, 17, 0];

    /// <summary>One raw operation of a kernel program.</summary>
    public static readonly Gen<OpSpec> KernelOperation = Gen.Select(
        Gen.Frequency(
            (4, Gen.Const(OpKind.ContextLoad)),
            (1, Gen.Const(OpKind.ContextStore)),
            (4, Gen.Const(OpKind.EndCheckedLoad)),
            (2, Gen.Const(OpKind.CheckedLoad)),
            (2, Gen.Const(OpKind.PacketStore)),
            (1, Gen.Const(OpKind.MetaLoad)),
            (3, Gen.Const(OpKind.PacketHelper)),
            (2, Gen.Const(OpKind.MapLookup)),
            (1, Gen.Const(OpKind.MapUpdate)),
            (1, Gen.Const(OpKind.TailCall))),
        Gen.Int[0, 10_000],
        Gen.Int[0, 10_000],
        Immediate,
        Wide,
        (kind, variant, offset, imm, wide) => new OpSpec(kind, variant, 0, 0, offset, imm, wide, 0));

    /// <summary>
    /// Ethernet frames: IPv4 (at least an IP header), IPv6, ARP or another EtherType with random bytes; one in 40 shorter
    /// than an Ethernet header and one in 40 an IPv4 frame with a truncated IP header (the kernel refuses both for some
    /// types, and so must the test run).
    /// </summary>
    public static readonly Gen<byte[]> Frame = Gen.Select(Gen.Byte.Array[0, 100], Gen.Int[0, 39], LowerFrame);

    /// <summary>
    /// Kernel programs: r6 = the context, r7/r8 = <c>data</c>/<c>data_end</c> loaded from it (the loads the kernel
    /// rewrites), r9 = 0, then 1-8 kernel operations (<see cref="KernelOperation"/>), r0 = r9; the type is XDP, tc or
    /// socket filter, the input an Ethernet frame (<see cref="Frame"/>).
    /// </summary>
    public static readonly Gen<GeneratedProgram> Kernel = Gen.Select(
        Gen.Int[0, 2],
        KernelOperation.Array[1, 8],
        Frame,
        (type, ops, frame) => LowerKernel((KernelProgramType)type, ops, frame));

    /// <summary>Turns raw kernel operations into a program of <paramref name="type"/> (see <see cref="Kernel"/>); no loops, so no budget.</summary>
    /// <param name="type">The program type (its context layout and packet helpers).</param>
    /// <param name="ops">The operations: kinds of <see cref="KernelOperation"/>.</param>
    /// <param name="packet">The frame the program runs on.</param>
    /// <exception cref="ArgumentException">An operation kind that is not a kernel one.</exception>
    public static GeneratedProgram LowerKernel(KernelProgramType type, OpSpec[] ops, byte[] packet)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(packet);
        var layout = KernelContextLayouts.For(type);
        List<Instruction> code = [I(OpCodes.Mov64Reg, ContextRegister, 1), .. ReloadPacket(layout), I(OpCodes.Mov64Imm, SumRegister)];
        foreach (var op in ops)
        {
            code.AddRange(LowerKernelOne(op, type, layout));
        }

        code.Add(I(OpCodes.Mov64Reg, 0, SumRegister));
        code.Add(I(OpCodes.Exit));
        return new GeneratedProgram(code.ToArray(), packet, null) { KernelType = type };
    }

    private static byte[] LowerFrame(byte[] bytes, int shape)
    {
        if (shape == 0)
        {
            return bytes[..Math.Min(bytes.Length, 13)];
        }

        var (etherType, minimum) = shape == 1 ? (0x0800, 14) : (shape % 4) switch
        {
            0 => (0x0800, 34),
            1 => (0x86dd, 54),
            2 => (0x0806, 42),
            _ => (bytes.Length > 13 ? (bytes[12] << 8) | bytes[13] : 0x88b5, 14),
        };
        var frame = new byte[Math.Max(minimum, Math.Max(14, bytes.Length))];
        bytes.CopyTo(frame, 0);
        frame[12] = (byte)(etherType >> 8);
        frame[13] = (byte)etherType;
        if (etherType == 0x0800 && frame.Length > 14)
        {
            frame[14] = (byte)(0x40 | (5 + (bytes.Length % 3))); // version 4, IHL 5-7
        }

        return frame;
    }

    private static Instruction[] LowerKernelOne(OpSpec op, KernelProgramType type, ContextLayout layout)
    {
        int v = op.Variant & int.MaxValue;
        int slack = v % 4 == 0 ? 1 + (v / 4 % 3) : 0; // one in four is off by a few bytes
        int sizeIndex = v / 16 % 4;
        int size = Sizes[sizeIndex];
        int offset = op.Offset & int.MaxValue;
        int reach = size + (offset % (64 - size)); // a bound in [size, 64)
        byte load = (byte)(0x61 | SizeBits[sizeIndex]);
        if (type == KernelProgramType.SocketFilter && op.Kind is OpKind.EndCheckedLoad or OpKind.CheckedLoad or OpKind.PacketStore)
        {
            // socket filters have no direct packet access (the kernel refuses data/data_end to them, and so does
            // KernelProgram.Load): they read the packet with bpf_skb_load_bytes; one in 32 tries data anyway
            return v % 32 == 5
                ? [I(OpCodes.LdxW, 5, ContextRegister, (short)SkBuffFields.Data), I(OpCodes.Add64Reg, SumRegister, 5)]
                : PacketHelperCall(type, v, offset, op.Imm);
        }

        switch (op.Kind)
        {
            case OpKind.ContextLoad:
                return [ContextLoad(layout, v, offset), I(OpCodes.Add64Reg, SumRegister, 5)];
            case OpKind.ContextStore:
                return ContextStore(layout, v, offset, op.Imm);
            case OpKind.EndCheckedLoad: // if (data + k > data_end) skip; r9 += [data + k - size + slack], three forms of the check
                return
                [
                    I(OpCodes.Mov64Reg, 3, DataRegister),
                    I(OpCodes.Add64Imm, 3, imm: reach),
                    .. (v / 64 % 3) switch
                    {
                        0 => [I(OpCodes.JgtReg, 3, DataEndRegister, 2)],
                        1 => [I(OpCodes.JltReg, DataEndRegister, 3, 2)],
                        _ => (Instruction[])[I(OpCodes.JleReg, 3, DataEndRegister, 1), I(OpCodes.Ja, offset: 2)],
                    },
                    I(load, 5, DataRegister, (short)(reach - size + slack)),
                    I(OpCodes.Add64Reg, SumRegister, 5),
                ];
            case OpKind.CheckedLoad: // if (data_end - data < k) skip; r9 += [data + k - size + slack]
                return
                [
                    I(OpCodes.Mov64Reg, 4, DataEndRegister),
                    I(OpCodes.Sub64Reg, 4, DataRegister),
                    I(OpCodes.JltImm, 4, offset: 2, imm: reach),
                    I(load, 5, DataRegister, (short)(reach - size + slack)),
                    I(OpCodes.Add64Reg, SumRegister, 5),
                ];
            case OpKind.PacketStore: // if (data + k > data_end) skip; [data + k - size + slack] = imm
                return
                [
                    I(OpCodes.Mov64Reg, 3, DataRegister),
                    I(OpCodes.Add64Imm, 3, imm: reach),
                    I(OpCodes.JgtReg, 3, DataEndRegister, 1),
                    I((byte)(0x62 | SizeBits[sizeIndex]), DataRegister, 0, (short)(reach - size + slack), op.Imm),
                ];
            case OpKind.MetaLoad when FieldOffset(layout, "data_meta") is int meta: // if (meta + 4 > data) skip; r9 += [meta + slack]
                return
                [
                    I(OpCodes.LdxW, 3, ContextRegister, (short)meta),
                    I(OpCodes.Mov64Reg, 4, 3),
                    I(OpCodes.Add64Imm, 4, imm: 4 * (1 + (v / 64 % 2))),
                    I(OpCodes.JgtReg, 4, DataRegister, 2),
                    I(OpCodes.LdxW, 5, 3, (short)slack),
                    I(OpCodes.Add64Reg, SumRegister, 5),
                ];
            case OpKind.MetaLoad: // socket filters have no metadata
                return [ContextLoad(layout, v, offset), I(OpCodes.Add64Reg, SumRegister, 5)];
            case OpKind.PacketHelper:
                return [.. PacketHelperCall(type, v, offset, op.Imm), .. v / 16 % 8 == 7 ? [] : ReloadPacket(layout)];
            case OpKind.MapLookup: // key 0-5 (4 and 5 miss, and one key of each hash map), two in three with the null check
                return
                [
                    .. MapLookupSlots(GeneratedEnvironment.LookupMap(offset / 6), offset % 6, v / 64 % 3 != 0, size, (offset % (GeneratedEnvironment.ValueSize - size + 1)) + slack, v / 192 % 2 == 0, (ContextRegister, 0)),
                    I(OpCodes.Add64Reg, SumRegister, 0),
                ];
            case OpKind.MapUpdate:
                return MapUpdateSlots(op, (ContextRegister, 0));
            case OpKind.TailCall:
                return TailCallShape(op.Imm & 7, (ContextRegister, 0));
            default:
                throw new ArgumentException($"{op.Kind} is not an operation of the kernel programs", nameof(op));
        }
    }

    /// <summary>r7 = <c>data</c>, r8 = <c>data_end</c> from the context (32-bit loads the kernel and <see cref="KernelProgram"/> rewrite); nothing for a socket filter, which may not read them.</summary>
    private static Instruction[] ReloadPacket(ContextLayout layout) => FieldOffset(layout, "data") is int data
        ? [I(OpCodes.LdxW, DataRegister, ContextRegister, (short)data), I(OpCodes.LdxW, DataEndRegister, ContextRegister, (short)FieldOffset(layout, "data_end")!.Value)]
        : []; // a socket filter: no packet pointers

    private static int? FieldOffset(ContextLayout layout, string name) => layout.Fields.FirstOrDefault(f => f.Name == name)?.Offset;

    /// <summary>r5 = a numeric field: whole, an aligned narrow part where the field allows it, or (one in eight) two bytes one past its start.</summary>
    private static Instruction ContextLoad(ContextLayout layout, int v, int offset)
    {
        var fields = layout.Fields.Where(f => f.Kind == ContextFieldKind.Scalar).ToArray();
        var field = Pick(fields, offset);
        int whole = field.RawBytes ? (v / 8 % 2 == 0 ? 4 : 8) : field.Size; // cb: a 4- or 8-byte word of it
        int size = (v % 8) switch
        {
            0 => 2,
            1 or 2 when field.NarrowLoads || field.RawBytes => v % 8 == 1 ? 1 : 2,
            _ => whole,
        };
        int at = v % 8 == 0 ? field.Offset + 1 : field.Offset + (v / 8 % (field.Size / size) * size);
        return I((byte)(0x61 | SizeBits[int.Log2(size)]), 5, ContextRegister, (short)at);
    }

    /// <summary>A store to a writable field (an immediate or the running sum); one in eight to a read-only field, one in sixteen to <c>data</c>.</summary>
    private static Instruction[] ContextStore(ContextLayout layout, int v, int offset, int imm)
    {
        var writable = layout.Fields.Where(f => f.Writable).ToArray();
        var target = (v % 16, writable.Length) switch
        {
            (1, _) when layout.Fields.Any(f => f.Name == "data") => layout.Fields.First(f => f.Name == "data"),
            (0 or 1 or 8, _) or (_, 0) => Pick(layout.Fields.Where(f => f.Kind == ContextFieldKind.Scalar && !f.Writable).ToArray(), offset),
            _ => Pick(writable, offset),
        };
        byte sizeBits = target.Size == 8 ? (byte)0x18 : (byte)0x00; // cb (raw bytes): its first 4-byte word
        return v / 16 % 2 == 0
            ? [I((byte)(0x62 | sizeBits), ContextRegister, 0, (short)target.Offset, imm)]
            : [I((byte)(0x63 | sizeBits), ContextRegister, SumRegister, (short)target.Offset)];
    }

    /// <summary>A packet helper of <paramref name="type"/> with arguments in and out of range; r9 += its result.</summary>
    private static Instruction[] PacketHelperCall(KernelProgramType type, int v, int offset, int imm)
    {
        int choice = v % 10;
        Instruction[] Call(uint helper, params Instruction[] arguments) =>
            [I(OpCodes.Mov64Reg, 1, ContextRegister), .. arguments, I(OpCodes.Call, imm: (int)helper), I(OpCodes.Add64Reg, SumRegister, 0)];
        Instruction Set(byte register, int value) => I(OpCodes.Mov64Imm, register, imm: value);
        Instruction[] StackBuffer(byte register) => [I(OpCodes.Mov64Reg, register, 10), I(OpCodes.Add64Imm, register, imm: -16)];
        int length = Pick(CopyLengths, offset / 7);
        Instruction[] redirect = [Set(1, imm & 7), Set(2, (v / 10) % 3), I(OpCodes.Call, imm: (int)PacketHelpers.Redirect), I(OpCodes.Add64Reg, SumRegister, 0)];
        if (type == KernelProgramType.Xdp)
        {
            return (choice % 5) switch
            {
                0 => Call(PacketHelpers.XdpAdjustHead, Set(2, Pick(PacketDeltas, imm))),
                1 => Call(PacketHelpers.XdpAdjustTail, Set(2, Pick(PacketDeltas, imm))),
                2 => Call(PacketHelpers.XdpAdjustMeta, Set(2, Pick(MetaDeltas, imm))),
                3 => redirect,
                _ =>
                [
                    I(OpCodes.StDW, 10, offset: -16, imm: imm),
                    I(OpCodes.StDW, 10, offset: -8, imm: offset),
                    .. StackBuffer(1),
                    Set(2, length & ~3),
                    .. StackBuffer(3),
                    Set(4, 8),
                    Set(5, imm),
                    I(OpCodes.Call, imm: (int)LinuxHelperIds.CsumDiff),
                    I(OpCodes.Add64Reg, SumRegister, 0),
                ],
            };
        }

        var loadBytes = (Instruction[])[.. Call(PacketHelpers.SkbLoadBytes, [Set(2, offset % 80), .. StackBuffer(3), Set(4, length)]), I(OpCodes.LdxB, 5, 10, -16), I(OpCodes.Add64Reg, SumRegister, 5)];
        if (type == KernelProgramType.SocketFilter)
        {
            return loadBytes;
        }

        return choice switch
        {
            0 => loadBytes,
            1 => [I(OpCodes.StDW, 10, offset: -16, imm: imm), I(OpCodes.StDW, 10, offset: -8, imm: offset), .. Call(PacketHelpers.SkbStoreBytes, [Set(2, offset % 80), .. StackBuffer(3), Set(4, length), Set(5, (v / 10) % 3)])],
            2 => Call(PacketHelpers.SkbChangeTail, Set(2, Pick(SkbLengths, imm)), Set(3, (v / 10) % 5 == 0 ? 1 : 0)),
            3 => Call(PacketHelpers.SkbChangeHead, Set(2, Pick(SkbLengths, imm)), Set(3, (v / 10) % 5 == 0 ? 1 : 0)),
            4 => Call(PacketHelpers.SkbAdjustRoom, Set(2, Pick(PacketDeltas, imm)), Set(3, (v / 10) % 3), Set(4, 0)),
            5 => Call(PacketHelpers.SkbVlanPush, Set(2, Pick(VlanProtocols, imm)), Set(3, imm & 0xffff)),
            6 => Call(PacketHelpers.SkbVlanPop),
            7 => Call(PacketHelpers.GetHashRecalc),
            8 => Call((v / 10) % 2 == 0 ? LinuxHelperIds.L3CsumReplace : LinuxHelperIds.L4CsumReplace, Set(2, offset % 64), Set(3, imm & 0xffff), Set(4, offset & 0xffff), Set(5, (v / 20) % 5)),
            _ => redirect,
        };
    }
}
