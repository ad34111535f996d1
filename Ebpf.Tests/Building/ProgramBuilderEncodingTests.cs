using System.Globalization;
using Ebpf.Building;
using Ebpf.Isa;
using static Ebpf.Building.Register;

namespace Ebpf.Tests.Building;

/// <summary>Each instruction family the builder emits, against bytes encoded by hand from RFC 9669.</summary>
public class ProgramBuilderEncodingTests
{
    [Fact]
    public void Alu64_with_immediates()
    {
        var b = new ProgramBuilder()
            .Add(R1, 5).Sub(R2, -1).Mul(R3, 0x100).Div(R4, 7).SDiv(R4, -7).Or(R5, 0x0f).And(R6, 0xff)
            .Lsh(R7, 3).Rsh(R8, 4).Mod(R9, 10).SMod(R9, -3).Xor(R0, 1).Mov(R0, 42).Arsh(R1, 2);
        Expect(b,
            "07 01 00 00 05 00 00 00",
            "17 02 00 00 ff ff ff ff",
            "27 03 00 00 00 01 00 00",
            "37 04 00 00 07 00 00 00",
            "37 04 01 00 f9 ff ff ff",
            "47 05 00 00 0f 00 00 00",
            "57 06 00 00 ff 00 00 00",
            "67 07 00 00 03 00 00 00",
            "77 08 00 00 04 00 00 00",
            "97 09 00 00 0a 00 00 00",
            "97 09 01 00 fd ff ff ff",
            "a7 00 00 00 01 00 00 00",
            "b7 00 00 00 2a 00 00 00",
            "c7 01 00 00 02 00 00 00");
    }

    [Fact]
    public void Alu64_with_registers()
    {
        var b = new ProgramBuilder()
            .Add(R1, R2).Sub(R3, R4).Mul(R5, R6).Div(R7, R8).SDiv(R1, R2).Or(R9, R0).And(R1, R10)
            .Lsh(R2, R3).Rsh(R4, R5).Mod(R6, R7).SMod(R3, R4).Xor(R8, R9).Mov(R0, R10).Arsh(R1, R2);
        Expect(b,
            "0f 21 00 00 00 00 00 00",
            "1f 43 00 00 00 00 00 00",
            "2f 65 00 00 00 00 00 00",
            "3f 87 00 00 00 00 00 00",
            "3f 21 01 00 00 00 00 00",
            "4f 09 00 00 00 00 00 00",
            "5f a1 00 00 00 00 00 00",
            "6f 32 00 00 00 00 00 00",
            "7f 54 00 00 00 00 00 00",
            "9f 76 00 00 00 00 00 00",
            "9f 43 01 00 00 00 00 00",
            "af 98 00 00 00 00 00 00",
            "bf a0 00 00 00 00 00 00",
            "cf 21 00 00 00 00 00 00");
    }

    [Fact]
    public void Alu32_with_immediates_and_registers()
    {
        const OperandWidth W32 = OperandWidth.Bits32;
        var b = new ProgramBuilder()
            .Add(R1, 5, W32).Sub(R1, R2, W32).Mul(R1, 3, W32).Div(R1, R2, W32).SDiv(R1, -2, W32).Or(R1, R2, W32)
            .And(R1, 1, W32).Lsh(R1, R2, W32).Rsh(R1, 31, W32).Mod(R1, R2, W32).SMod(R1, R2, W32).Xor(R1, -1, W32)
            .Mov(R1, R2, W32).Arsh(R1, 1, W32).Mov(R0, -1, W32)
            .Alu(BinaryOperation.Mul, R3, R4, W32).Alu(BinaryOperation.Lsh, R3, 7);
        Expect(b,
            "04 01 00 00 05 00 00 00",
            "1c 21 00 00 00 00 00 00",
            "24 01 00 00 03 00 00 00",
            "3c 21 00 00 00 00 00 00",
            "34 01 01 00 fe ff ff ff",
            "4c 21 00 00 00 00 00 00",
            "54 01 00 00 01 00 00 00",
            "6c 21 00 00 00 00 00 00",
            "74 01 00 00 1f 00 00 00",
            "9c 21 00 00 00 00 00 00",
            "9c 21 01 00 00 00 00 00",
            "a4 01 00 00 ff ff ff ff",
            "bc 21 00 00 00 00 00 00",
            "c4 01 00 00 01 00 00 00",
            "b4 00 00 00 ff ff ff ff",
            "2c 43 00 00 00 00 00 00",
            "67 03 00 00 07 00 00 00");
    }

    [Fact]
    public void Neg_movsx_and_byte_swaps()
    {
        var b = new ProgramBuilder()
            .Neg(R1).Neg(R2, OperandWidth.Bits32)
            .MovSx(R1, R2, SignExtension.FromByte).MovSx(R1, R2, SignExtension.FromHalfWord).MovSx(R1, R2, SignExtension.FromWord)
            .MovSx(R3, R4, SignExtension.FromByte, OperandWidth.Bits32).MovSx(R3, R4, SignExtension.FromHalfWord, OperandWidth.Bits32)
            .Le(R1, SwapWidth.Bits16).Le(R1, SwapWidth.Bits64).Be(R2, SwapWidth.Bits32).Be(R2, SwapWidth.Bits16)
            .Bswap(R3, SwapWidth.Bits64).Bswap(R3, SwapWidth.Bits32);
        Expect(b,
            "87 01 00 00 00 00 00 00",
            "84 02 00 00 00 00 00 00",
            "bf 21 08 00 00 00 00 00",
            "bf 21 10 00 00 00 00 00",
            "bf 21 20 00 00 00 00 00",
            "bc 43 08 00 00 00 00 00",
            "bc 43 10 00 00 00 00 00",
            "d4 01 00 00 10 00 00 00",
            "d4 01 00 00 40 00 00 00",
            "dc 02 00 00 20 00 00 00",
            "dc 02 00 00 10 00 00 00",
            "d7 03 00 00 40 00 00 00",
            "d7 03 00 00 20 00 00 00");
    }

    [Fact]
    public void Loads_and_stores()
    {
        var b = new ProgramBuilder()
            .Ldx(AccessSize.Word, R0, R1, 2).Ldx(AccessSize.HalfWord, R0, R1, -2).Ldx(AccessSize.Byte, R2, R10, -1).Ldx(AccessSize.DoubleWord, R3, R1, 8)
            .Ldxs(AccessSize.Byte, R0, R1).Ldxs(AccessSize.HalfWord, R0, R1, 4).Ldxs(AccessSize.Word, R5, R6, -8)
            .St(AccessSize.Word, R10, -4, 7).St(AccessSize.HalfWord, R1, 2, -1).St(AccessSize.Byte, R1, 0, 0x11).St(AccessSize.DoubleWord, R10, -8, 1)
            .Stx(AccessSize.Word, R10, -4, R1).Stx(AccessSize.DoubleWord, R10, -8, R2).Stx(AccessSize.Byte, R1, 3, R2).Stx(AccessSize.HalfWord, R1, 4, R2);
        Expect(b,
            "61 10 02 00 00 00 00 00",
            "69 10 fe ff 00 00 00 00",
            "71 a2 ff ff 00 00 00 00",
            "79 13 08 00 00 00 00 00",
            "91 10 00 00 00 00 00 00",
            "89 10 04 00 00 00 00 00",
            "81 65 f8 ff 00 00 00 00",
            "62 0a fc ff 07 00 00 00",
            "6a 01 02 00 ff ff ff ff",
            "72 01 00 00 11 00 00 00",
            "7a 0a f8 ff 01 00 00 00",
            "63 1a fc ff 00 00 00 00",
            "7b 2a f8 ff 00 00 00 00",
            "73 21 03 00 00 00 00 00",
            "6b 21 04 00 00 00 00 00");
    }

    [Fact]
    public void Legacy_packet_loads()
    {
        var b = new ProgramBuilder()
            .LdAbs(AccessSize.Word, 0x10).LdAbs(AccessSize.HalfWord, 2).LdAbs(AccessSize.Byte, 1).LdAbs(AccessSize.DoubleWord, 3)
            .LdInd(AccessSize.Word, R2, -1).LdInd(AccessSize.HalfWord, R3, 4).LdInd(AccessSize.Byte, R1, 2).LdInd(AccessSize.DoubleWord, R4, 0);
        Expect(b,
            "20 00 00 00 10 00 00 00",
            "28 00 00 00 02 00 00 00",
            "30 00 00 00 01 00 00 00",
            "38 00 00 00 03 00 00 00",
            "40 20 00 00 ff ff ff ff",
            "48 30 00 00 04 00 00 00",
            "50 10 00 00 02 00 00 00",
            "58 40 00 00 00 00 00 00");
    }

    [Fact]
    public void Atomics()
    {
        const AccessSize W = AccessSize.Word;
        const AccessSize DW = AccessSize.DoubleWord;
        var b = new ProgramBuilder()
            .AtomicAdd(W, R10, -4, R1).AtomicAdd(DW, R10, -8, R1, fetch: true)
            .AtomicOr(W, R1, 0, R2).AtomicOr(DW, R1, 0, R2, fetch: true)
            .AtomicAnd(W, R1, 0, R2).AtomicAnd(W, R1, 0, R2, fetch: true)
            .AtomicXor(DW, R1, 16, R2).AtomicXor(DW, R1, 16, R2, fetch: true)
            .AtomicExchange(DW, R1, 0, R2).AtomicCompareExchange(W, R1, -2, R3)
            .Atomic(AtomicOperation.FetchAdd, W, R9, 1, R8);
        Expect(b,
            "c3 1a fc ff 00 00 00 00",
            "db 1a f8 ff 01 00 00 00",
            "c3 21 00 00 40 00 00 00",
            "db 21 00 00 41 00 00 00",
            "c3 21 00 00 50 00 00 00",
            "c3 21 00 00 51 00 00 00",
            "db 21 10 00 a0 00 00 00",
            "db 21 10 00 a1 00 00 00",
            "db 21 00 00 e1 00 00 00",
            "c3 31 fe ff f1 00 00 00",
            "c3 89 01 00 01 00 00 00");
    }

    /// <summary>The opcodes of every condition: JMP imm, JMP reg, JMP32 imm, JMP32 reg (RFC 9669 table 5 with classes 0x05/0x06).</summary>
    [Theory]
    [InlineData(JumpCondition.Equal, 0x15, 0x1d, 0x16, 0x1e)]
    [InlineData(JumpCondition.Greater, 0x25, 0x2d, 0x26, 0x2e)]
    [InlineData(JumpCondition.GreaterOrEqual, 0x35, 0x3d, 0x36, 0x3e)]
    [InlineData(JumpCondition.AnyBitSet, 0x45, 0x4d, 0x46, 0x4e)]
    [InlineData(JumpCondition.NotEqual, 0x55, 0x5d, 0x56, 0x5e)]
    [InlineData(JumpCondition.SignedGreater, 0x65, 0x6d, 0x66, 0x6e)]
    [InlineData(JumpCondition.SignedGreaterOrEqual, 0x75, 0x7d, 0x76, 0x7e)]
    [InlineData(JumpCondition.Less, 0xa5, 0xad, 0xa6, 0xae)]
    [InlineData(JumpCondition.LessOrEqual, 0xb5, 0xbd, 0xb6, 0xbe)]
    [InlineData(JumpCondition.SignedLess, 0xc5, 0xcd, 0xc6, 0xce)]
    [InlineData(JumpCondition.SignedLessOrEqual, 0xd5, 0xdd, 0xd6, 0xde)]
    public void Conditional_jumps(JumpCondition condition, int jmpImm, int jmpReg, int jmp32Imm, int jmp32Reg)
    {
        var b = new ProgramBuilder()
            .Jump(condition, R1, -5, 3)
            .Jump(condition, R2, R3, -1)
            .Jump(condition, R4, 0x7fffffff, 0, OperandWidth.Bits32)
            .Jump(condition, R5, R6, short.MaxValue, OperandWidth.Bits32);
        Expect(b,
            $"{jmpImm:x2} 01 03 00 fb ff ff ff",
            $"{jmpReg:x2} 32 ff ff 00 00 00 00",
            $"{jmp32Imm:x2} 04 00 00 ff ff ff 7f",
            $"{jmp32Reg:x2} 65 ff 7f 00 00 00 00");
    }

    [Fact]
    public void Unconditional_jumps_calls_and_exit()
    {
        var b = new ProgramBuilder().Ja(3).Ja(-2).Ja32(100000).Ja32(-1).Call(1).Call(-7).CallLocal(3).CallX(R2).CallX(R9).Exit();
        Expect(b,
            "05 00 03 00 00 00 00 00",
            "05 00 fe ff 00 00 00 00",
            "06 00 00 00 a0 86 01 00",
            "06 00 00 00 ff ff ff ff",
            "85 00 00 00 01 00 00 00",
            "85 00 00 00 f9 ff ff ff",
            "85 10 00 00 03 00 00 00",
            "8d 02 00 00 00 00 00 00",
            "8d 09 00 00 00 00 00 00",
            "95 00 00 00 00 00 00 00");
    }

    [Fact]
    public void Lddw_takes_two_slots()
    {
        var b = new ProgramBuilder()
            .Lddw(R1, 0x1122334455667788L).Lddw(R2, 0xffffffff00000001UL).Lddw(R0, -1L)
            .Lddw(R3, LddwSource.MapValueByFd, 5, 8).Lddw(R4, LddwSource.MapByIndex, 2);
        Assert.Equal(10, b.Count);
        Expect(b,
            "18 01 00 00 88 77 66 55", "00 00 00 00 44 33 22 11",
            "18 02 00 00 01 00 00 00", "00 00 00 00 ff ff ff ff",
            "18 00 00 00 ff ff ff ff", "00 00 00 00 ff ff ff ff",
            "18 23 00 00 05 00 00 00", "00 00 00 00 08 00 00 00",
            "18 54 00 00 02 00 00 00", "00 00 00 00 00 00 00 00");
    }

    [Fact]
    public void Reproduces_the_rbpf_insn_builder_example()
    {
        // rbpf's README: add64 r1, 0x605; mov64 r2, 0x32; mov64 r1, r0; be16 r0; neg64 r2; exit
        var b = new ProgramBuilder().Add(R1, 0x605).Mov(R2, 0x32).Mov(R1, R0).Be(R0, SwapWidth.Bits16).Neg(R2).Exit();
        Expect(b,
            "07 01 00 00 05 06 00 00",
            "b7 02 00 00 32 00 00 00",
            "bf 01 00 00 00 00 00 00",
            "dc 00 00 00 10 00 00 00",
            "87 02 00 00 00 00 00 00",
            "95 00 00 00 00 00 00 00");
    }

    [Fact]
    public void Emit_appends_a_raw_slot()
    {
        var b = new ProgramBuilder().Emit(Instruction.FromRaw(0x0000002a000000b7)).Exit();
        Expect(b, "b7 00 00 00 2a 00 00 00", "95 00 00 00 00 00 00 00");
    }

    internal static void Expect(ProgramBuilder builder, params string[] slots)
    {
        var expected = slots.SelectMany(s => s.Split(' ').Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray();
        var actual = builder.ToBytes();
        Assert.Equal(Hex(expected), Hex(actual));
        Assert.Equal(actual, Instruction.EncodeAll(builder.ToInstructions()));
    }

    private static string Hex(byte[] bytes) =>
        string.Join("\n", bytes.Chunk(8).Select(slot => string.Join(' ', slot.Select(x => x.ToString("x2", CultureInfo.InvariantCulture)))));
}
