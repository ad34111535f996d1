using Ebpf.Assembly;
using Ebpf.Isa;

namespace Ebpf.Tests.Assembly;

public class FormatterTests
{
    public static TheoryData<byte, byte, byte, short, int, string> Canonical() => new()
    {
        { 0xb7, 0, 0, 0, 1, "mov64 r0, 0x1" },
        { 0xb4, 0, 0, 0, -1, "mov32 r0, -0x1" },
        { 0xb4, 0, 0, 0, int.MinValue, "mov32 r0, -0x80000000" },
        { 0xbf, 1, 0, 0, 0, "mov64 r1, r0" },
        { 0x07, 1, 0, 0, 0x605, "add64 r1, 0x605" },
        { 0x0c, 1, 2, 0, 0, "add32 r1, r2" },
        { 0x3f, 1, 2, 1, 0, "sdiv64 r1, r2" },
        { 0x94, 1, 0, 1, 3, "smod32 r1, 0x3" },
        { 0xbc, 0, 1, 8, 0, "movsx832 r0, r1" },
        { 0xbf, 0, 9, 32, 0, "movsx3264 r0, r9" },
        { 0xd4, 0, 0, 0, 16, "le16 r0" },
        { 0xdc, 1, 0, 0, 32, "be32 r1" },
        { 0xd7, 0, 0, 0, 64, "bswap64 r0" },
        { 0x87, 2, 0, 0, 0, "neg64 r2" },
        { 0x84, 3, 0, 0, 0, "neg32 r3" },
        { 0x69, 0, 1, 2, 0, "ldxh r0, [r1+2]" },
        { 0x79, 1, 10, -8, 0, "ldxdw r1, [r10-8]" },
        { 0x71, 9, 0, 0, 0, "ldxb r9, [r0]" },
        { 0x91, 0, 10, -1, 0, "ldxsb r0, [r10-1]" },
        { 0x62, 1, 0, 2, 5, "stw [r1+2], 0x5" },
        { 0x7b, 1, 2, -8, 0, "stxdw [r1-8], r2" },
        { 0xdb, 10, 1, -8, 0x00, "lock add [r10-8], r1" },
        { 0xc3, 10, 1, -8, 0x01, "lock fetch add32 [r10-8], r1" },
        { 0xdb, 1, 2, 0, 0xa1, "lock fetch xor [r1], r2" },
        { 0xdb, 1, 2, 0, 0xe1, "lock xchg [r1], r2" },
        { 0xc3, 1, 2, 4, 0xf1, "lock cmpxchg32 [r1+4], r2" },
        { 0x05, 0, 0, 2, 0, "ja +2" },
        { 0x05, 0, 0, -1, 0, "ja -1" },
        { 0x15, 1, 0, 3, 5, "jeq r1, 0x5, +3" },
        { 0x5e, 1, 2, 0, 0, "jne32 r1, r2, +0" },
        { 0x06, 0, 0, 0, 100000, "ja32 +100000" },
        { 0x85, 0, 0, 0, 1, "call 1" },
        { 0x85, 0, 1, 0, -4, "call local -4" },
        { 0x8d, 2, 0, 0, 0, "callx r2" },
        { 0x95, 0, 0, 0, 0, "exit" },
        { 0x20, 0, 0, 0, 16, "ldabsw 0x10" },
        { 0x50, 0, 1, 0, 2, "ldindb r1, 0x2" },
    };

    [Theory]
    [MemberData(nameof(Canonical))]
    public void Slot_prints_its_canonical_text_which_assembles_back(byte op, byte dst, byte src, short offset, int imm, string text)
    {
        var insn = new Instruction(op, dst, src, offset, imm);
        Assert.Equal(text, InstructionFormatter.Format(insn));
        Assert.Equal(text, insn.ToString());
        Assert.Equal([insn], Assembler.Assemble(text));
    }

    public static TheoryData<byte, byte, byte, short, int, string> Raw() => new()
    {
        { 0x00, 0, 0, 0, 0, "unknown opcode 0x00" },
        { 0xff, 1, 2, 3, 4, "unknown opcode 0xff" },
        { 0xb7, 11, 0, 0, 0, "destination register r11 does not exist (r0-r10)" },
        { 0x07, 0, 1, 0, 1, "opcode 0x07 with fields its assembly form cannot express" },
        { 0x07, 0, 0, 1, 1, "opcode 0x07 with fields its assembly form cannot express" },
        { 0x0f, 0, 0, 0, 1, "opcode 0x0f with fields its assembly form cannot express" },
        { 0xbc, 0, 1, 32, 0, "mov32 with a register: the offset must be 0 (mov32) or 8 or 16 (movsx32), but it is 32" },
        { 0xd4, 0, 0, 0, 8, "le: the width (imm) must be 16, 32 or 64, but it is 8" },
        { 0x84, 0, 0, 0, 1, "opcode 0x84 with fields its assembly form cannot express" },
        { 0x85, 0, 2, 0, 1, "call: src 2 is not a supported call kind (0 = helper by id, 1 = local function; 2 = helper by BTF id is not supported)" },
        { 0x95, 0, 0, 0, 1, "opcode 0x95 with fields its assembly form cannot express" },
        { 0xdb, 1, 2, 0, 0x02, "atomic64: imm 0x2 is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)" },
        { 0x61, 0, 1, 0, 1, "opcode 0x61 with fields its assembly form cannot express" },
        { 0x18, 0, 0, 0, 1, "first slot of lddw r0 (low half 0x1)" },
    };

    [Theory]
    [MemberData(nameof(Raw))]
    public void Slot_the_canonical_form_cannot_express_prints_as_the_raw_directive(byte op, byte dst, byte src, short offset, int imm, string why)
    {
        var insn = Instruction.FromRaw(op | ((ulong)dst << 8) | ((ulong)src << 12) | ((ulong)(ushort)offset << 16) | ((ulong)(uint)imm << 32));
        string text = InstructionFormatter.Format(insn);
        Assert.Equal($".slot 0x{insn.ToRaw():x16} # {why}", text);
        Assert.Equal([insn], Assembler.Assemble(text));
    }

    [Fact]
    public void Raw_directive_writes_the_little_endian_word()
    {
        var insn = Instruction.FromRaw(0x0000000100000095);
        Assert.Equal(".slot 0x0000000100000095 # opcode 0x95 with fields its assembly form cannot express", InstructionFormatter.Format(insn));
        Assert.Equal(".slot 0x0000000100000095", InstructionFormatter.FormatRaw(insn));
    }

    [Fact]
    public void Lddw_pair_prints_one_line_with_the_64_bit_value()
    {
        var first = new Instruction(0x18, 1, 0, 0, unchecked((int)0x88776655));
        var second = new Instruction(0, 0, 0, 0, 0x11223344);
        Assert.Equal("lddw r1, 0x1122334488776655", InstructionFormatter.Format(first, second));
        Assert.Equal([first, second], Assembler.Assemble("lddw r1, 0x1122334488776655"));
    }

    [Fact]
    public void Lddw_pair_with_a_pseudo_source_prints_its_keyword()
    {
        var first = new Instruction(0x18, 2, 2, 0, 7);
        var second = new Instruction(0, 0, 0, 0, 16);
        Assert.Equal("lddw r2, map_value_by_fd 0x1000000007", InstructionFormatter.Format(first, second));
        Assert.Equal([first, second], Assembler.Assemble("lddw r2, map_value_by_fd 0x1000000007"));
    }

    [Fact]
    public void Lddw_with_a_bad_second_slot_prints_the_first_slot_raw()
    {
        var first = new Instruction(0x18, 1, 0, 0, 5);
        Assert.StartsWith(".slot 0x0000000500000118", InstructionFormatter.Format(first, new Instruction(0x95, 0, 0, 0, 0)));
        Assert.StartsWith(".slot", InstructionFormatter.Format(first, new Instruction(0, 1, 0, 0, 0)));
        Assert.StartsWith(".slot", InstructionFormatter.Format(new Instruction(0x18, 1, 7, 0, 0), default));
        Assert.False(InstructionFormatter.TryFormatWide(first, new Instruction(0, 0, 0, 1, 0), out _));
    }

    [Fact]
    public void Two_slot_overload_formats_other_instructions_by_their_first_slot()
    {
        Assert.Equal("exit", InstructionFormatter.Format(new Instruction(0x95, 0, 0, 0, 0), new Instruction(0xb7, 0, 0, 0, 1)));
    }
}
