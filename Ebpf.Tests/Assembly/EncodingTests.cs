using Ebpf.Assembly;

namespace Ebpf.Tests.Assembly;

/// <summary>
/// Encodings checked by hand against RFC 9669 (opcode byte; dst in the low and src in the high nibble of byte 1;
/// offset in bytes 2-3 and immediate in bytes 4-7, little-endian), one or more per instruction family, in both dialects.
/// </summary>
public class EncodingTests
{
    public static TheoryData<string, string> Cases() => new()
    {
        // ALU64 and ALU32, immediate and register forms.
        { "mov r0, 1", "b7 00 0000 01000000" },
        { "mov %r0, 1", "b7 00 0000 01000000" },
        { "mov64 r2, 0x32", "b7 02 0000 32000000" },
        { "mov32 %r0, -1", "b4 00 0000 ffffffff" },
        { "mov32 r0, 0xffffffff", "b4 00 0000 ffffffff" },
        { "mov32 r0, -2147483648", "b4 00 0000 00000080" },
        { "mov r6, r0", "bf 06 0000 00000000" },
        { "mov32 %r0, %r1", "bc 10 0000 00000000" },
        { "add32 r1, r2", "0c 21 0000 00000000" },
        { "add %r0, 1", "07 00 0000 01000000" },
        { "sub %r3, %r4", "1f 43 0000 00000000" },
        { "sub32 r0, 13", "14 00 0000 0d000000" },
        { "mul32 r1, 0x7", "24 01 0000 07000000" },
        { "mul64 r1, r3", "2f 31 0000 00000000" },
        { "div r1, r2", "3f 21 0000 00000000" },
        { "div32 %r0, 2", "34 00 0000 02000000" },
        { "or r0, 0xa0", "47 00 0000 a0000000" },
        { "or32 r0, r5", "4c 50 0000 00000000" },
        { "and32 r0, r9", "5c 90 0000 00000000" },
        { "and %r0, 0xa3", "57 00 0000 a3000000" },
        { "lsh r0, 32", "67 00 0000 20000000" },
        { "lsh32 r0, r8", "6c 80 0000 00000000" },
        { "rsh32 r0, r7", "7c 70 0000 00000000" },
        { "rsh %r0, 32", "77 00 0000 20000000" },
        { "mod32 r0, 92", "94 00 0000 5c000000" },
        { "mod %r0, %r1", "9f 10 0000 00000000" },
        { "xor r0, r2", "af 20 0000 00000000" },
        { "xor32 %r0, 0x03", "a4 00 0000 03000000" },
        { "arsh32 r0, 48", "c4 00 0000 30000000" },
        { "arsh %r0, %r1", "cf 10 0000 00000000" },
        { "neg r0", "87 00 0000 00000000" },
        { "neg64 r2", "87 02 0000 00000000" },
        { "neg32 %r2", "84 02 0000 00000000" },

        // Signed division and modulo: offset 1.
        { "sdiv r1, r2", "3f 21 0100 00000000" },
        { "sdiv32 %r0, -4", "34 00 0100 fcffffff" },
        { "smod64 r1, 3", "97 01 0100 03000000" },
        { "smod32 %r1, %r2", "9c 21 0100 00000000" },

        // Sign-extending moves: offset 8, 16 or 32, register source.
        { "movsx832 %r0, %r1", "bc 10 0800 00000000" },
        { "movsx1632 r4, r3", "bc 34 1000 00000000" },
        { "movsx864 r6, r5", "bf 56 0800 00000000" },
        { "movsx1664 %r8, %r7", "bf 78 1000 00000000" },
        { "movsx3264 r0, r9", "bf 90 2000 00000000" },

        // Byte swaps: width in the immediate.
        { "le16 r0", "d4 00 0000 10000000" },
        { "le64 %r3", "d4 03 0000 40000000" },
        { "be16 r0", "dc 00 0000 10000000" },
        { "be32 r1", "dc 01 0000 20000000" },
        { "bswap64 %r0", "d7 00 0000 40000000" },
        { "bswap32 r2", "d7 02 0000 20000000" },
        { "swap16 %r0", "d7 00 0000 10000000" },

        // 64-bit immediate load: two slots, upper half in the second slot's immediate.
        { "lddw r0, 0x1122334455667788", "18 00 0000 88776655 00 00 0000 44332211" },
        { "lddw %r1, -1", "18 01 0000 ffffffff 00 00 0000 ffffffff" },
        { "lddw r0, 2147483648", "18 00 0000 00000080 00 00 0000 00000000" },
        { "lddw r9, 0xFFFFFFFFFFFFFFFF", "18 09 0000 ffffffff 00 00 0000 ffffffff" },
        { "lddw r1, map_by_fd 3", "18 11 0000 03000000 00 00 0000 00000000" },
        { "lddw r2, map_value_by_idx 0x800000001", "18 62 0000 01000000 00 00 0000 08000000" },

        // Loads, sign-extending loads, stores.
        { "ldxh r0, [r1+2]", "69 10 0200 00000000" },
        { "ldxdw %r1, [%r10-8]", "79 a1 f8ff 00000000" },
        { "ldxb r9, [r0]", "71 09 0000 00000000" },
        { "ldxw %r0, [%r1 + 0x10]", "61 10 1000 00000000" },
        { "ldxsb %r0, [%r10-1]", "91 a0 ffff 00000000" },
        { "ldxsh r0, [r10-2]", "89 a0 feff 00000000" },
        { "ldxsw r0, [r10-4]", "81 a0 fcff 00000000" },
        { "stw [r1+2], 5", "62 01 0200 05000000" },
        { "stdw [%r10-8], 0x11223344", "7a 0a f8ff 44332211" },
        { "stb [%r1+2], 0x11", "72 01 0200 11000000" },
        { "sth [%r0], 0x1234", "6a 00 0000 34120000" },
        { "stxdw [r1-8], r2", "7b 21 f8ff 00000000" },
        { "stxb [%r10-1], %r1", "73 1a ffff 00000000" },
        { "stxh [r1+2], r2", "6b 21 0200 00000000" },
        { "stxw [r1+2], r2", "63 21 0200 00000000" },

        // Atomics: operation in the immediate (fetch = 0x01, xchg 0xe1, cmpxchg 0xf1).
        { "lock add [%r10-8], %r1", "db 1a f8ff 00000000" },
        { "lock add32 [%r10-8], %r1", "c3 1a f8ff 00000000" },
        { "lock fetch add32 [%r10-8], %r1", "c3 1a f8ff 01000000" },
        { "lock or [r1], r2", "db 21 0000 40000000" },
        { "lock fetch or32 [r1], r2", "c3 21 0000 41000000" },
        { "lock and [r1+4], r2", "db 21 0400 50000000" },
        { "lock fetch and [r1], r2", "db 21 0000 51000000" },
        { "lock xor32 [r1], r2", "c3 21 0000 a0000000" },
        { "lock fetch xor [r1], r2", "db 21 0000 a1000000" },
        { "lock xchg [r1], r2", "db 21 0000 e1000000" },
        { "lock xchg32 [%r10-8], %r1", "c3 1a f8ff e1000000" },
        { "lock cmpxchg [r1], r2", "db 21 0000 f1000000" },
        { "lock cmpxchg32 [r1+4], r2", "c3 21 0400 f1000000" },
        { "stxxaddw [r1+2], r2", "c3 21 0200 00000000" },
        { "stxxadddw [r1], r3", "db 31 0000 00000000" },

        // Jumps: offset in slots; ja32 takes its target in the immediate.
        { "ja +2", "05 00 0200 00000000" },
        { "ja -1", "05 00 ffff 00000000" },
        { "jeq r1, 5, +3", "15 01 0300 05000000" },
        { "jeq %r1, %r2, +1", "1d 21 0100 00000000" },
        { "jgt r1, 0x80000000, +1", "25 01 0100 00000080" },
        { "jge r2, r1, +0", "3d 12 0000 00000000" },
        { "jset r1, 0x8, +1", "45 01 0100 08000000" },
        { "jne %r1, %r2, -2", "5d 21 feff 00000000" },
        { "jsgt r1, -2, +4", "65 01 0400 feffffff" },
        { "jsge r1, r2, +1", "7d 21 0100 00000000" },
        { "jlt r1, 4, +1", "a5 01 0100 04000000" },
        { "jle r1, r1, +1", "bd 11 0100 00000000" },
        { "jslt r1, -1, +1", "c5 01 0100 ffffffff" },
        { "jsle r1, r3, +1", "dd 31 0100 00000000" },
        { "jeq32 %r1, 0xb, +4", "16 01 0400 0b000000" },
        { "jsgt32 r1, -1, +1", "66 01 0100 ffffffff" },
        { "jlt32 %r1, %r3, +1", "ae 31 0100 00000000" },
        { "jne32 r1, r2, +5", "5e 21 0500 00000000" },
        { "jsle32 r1, 0, +1", "d6 01 0100 00000000" },
        { "ja32 +5", "06 00 0000 05000000" },
        { "ja32 -3", "06 00 0000 fdffffff" },

        // Calls and exit.
        { "call 1", "85 00 0000 01000000" },
        { "call helper 5", "85 00 0000 05000000" },
        { "call %r2", "8d 02 0000 00000000" },
        { "callx r3", "8d 03 0000 00000000" },
        { "call local +2", "85 10 0000 02000000" },
        { "exit", "95 00 0000 00000000" },

        // Legacy packet loads: ABS takes the immediate, IND a register (in src) and the immediate.
        { "ldabsw 0x10", "20 00 0000 10000000" },
        { "ldabsh 4", "28 00 0000 04000000" },
        { "ldabsb 0", "30 00 0000 00000000" },
        { "ldabsdw 8", "38 00 0000 08000000" },
        { "ldindb r1, 0x2", "50 10 0000 02000000" },
        { "ldindh r2, 4", "48 20 0000 04000000" },
        { "ldindw r3, -1", "40 30 0000 ffffffff" },
        { "ldinddw r1, 0", "58 10 0000 00000000" },

        // The raw directive, case and comments.
        { ".slot 0x0000000100000095", "95 00 0000 01000000" },
        { ".slot 149", "95 00 0000 00000000" },
        { "MOV R0, 1 # comment", "b7 00 0000 01000000" },
        { "exit ; comment", "95 00 0000 00000000" },
        { "  exit // comment", "95 00 0000 00000000" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Instruction_is_encoded_as_computed_by_hand(string text, string hex)
    {
        Assert.Equal(Convert.FromHexString(hex.Replace(" ", string.Empty)), Assembler.AssembleBytes(text));
    }

    [Fact]
    public void Label_targets_are_slot_distances()
    {
        var bytes = Assembler.AssembleBytes("""
            mov %r0, 0
            jeq %r1, 1, done
            ja done
            done:
            exit
            """);
        Assert.Equal(Convert.FromHexString("b700000000000000" + "1501010001000000" + "0500000000000000" + "9500000000000000"), bytes);
    }

    [Fact]
    public void Backward_ja32_and_lddw_count_two_slots()
    {
        var code = Assembler.Assemble("""
            top: ja skip
            lddw r0, 1
            skip: ja32 top
            exit
            """);
        Assert.Equal(5, code.Length);
        Assert.Equal(2, code[0].Offset);
        Assert.Equal(-4, code[3].Imm);
    }

    [Fact]
    public void Local_call_to_a_label_puts_the_distance_in_the_immediate()
    {
        var code = Assembler.Assemble("call local f\nexit\nf:\nmov r0, 1\nexit");
        Assert.Equal((byte)0x85, code[0].OpCode);
        Assert.Equal(1, code[0].Src);
        Assert.Equal(1, code[0].Imm);
    }

    [Fact]
    public void Exit_names_the_first_exit_instruction_unless_a_label_of_that_name_exists()
    {
        var implicitExit = Assembler.Assemble("jeq r1, 0, exit\nmov r0, 1\nexit\nmov r0, 2\nexit");
        Assert.Equal(1, implicitExit[0].Offset);

        var explicitExit = Assembler.Assemble("jeq r1, 0, exit\nexit\nexit:\nmov r0, 2\nexit");
        Assert.Equal(1, explicitExit[0].Offset);
        var forward = Assembler.Assemble("ja exit\nmov r0, 1\nexit");
        Assert.Equal(1, forward[0].Offset);
    }

    [Fact]
    public void Labels_may_share_a_line_with_an_instruction_and_empty_lines_are_ignored()
    {
        var code = Assembler.Assemble("\n  # only a comment\nstart: mov r0, 0\n\n  ja start\n");
        Assert.Equal(2, code.Length);
        Assert.Equal(-2, code[1].Offset);
    }
}
