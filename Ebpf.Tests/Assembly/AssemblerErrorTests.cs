using Ebpf.Assembly;

namespace Ebpf.Tests.Assembly;

public class AssemblerErrorTests
{
    public static TheoryData<string, int, int, string> Cases() => new()
    {
        { "foo r1", 1, 1, "unknown mnemonic 'foo'" },
        { "[r1]", 1, 1, "expected a mnemonic or a label, found '['" },
        { "%r1, 2", 1, 1, "expected a mnemonic or a label, found '%r1'" },
        { "mov r11, 1", 1, 5, "bad register 'r11' (expected r0..r10 or %r0..%r10)" },
        { "or %r0, %r50", 1, 9, "bad register '%r50'" },
        { "mov %x, 1", 1, 5, "bad register '%x'" },
        { "mov 1, r0", 1, 5, "expected a destination register (r0..r10 or %r0..%r10), found '1'" },
        { "add r1", 1, 1, "wrong operand count: 'add' takes 2 operands (a register, then a register or an immediate), found 1" },
        { "jeq r1, 5", 1, 1, "wrong operand count: 'jeq' takes 3 operands" },
        { "exit r0", 1, 6, "wrong operand count: 'exit' takes 0 operands (no operand), found 1" },
        { "mov r0, 1, 2", 1, 12, "wrong operand count: 'mov' takes 2 operands" },
        { "lddw %r0", 1, 1, "wrong operand count: 'lddw' takes 2 operands (a register, then a 64-bit immediate), found 1" },
        { "mov r0,, 1", 1, 8, "expected an operand before ','" },
        { "mov r0,", 1, 8, "expected an operand after ','" },
        { "ja nowhere\nexit", 1, 4, "unknown label 'nowhere'" },
        { "exit\nexit\n  jeq r1, 1, missing", 3, 14, "unknown label 'missing'" },
        { "a:\nexit\na: exit", 3, 1, "label 'a' is already defined on line 1" },
        { "jeq r1, 1, foo bar", 1, 12, "expected a jump target (+N, -N or a label), found 'foobar'" },
        { "ja +32768", 1, 5, "jump offset +32768 is out of range (-32768..32767 slots)" },
        { "ldxw r0, r1", 1, 10, "bad memory operand: expected a memory operand such as [r1+8], [r10-4] or [r2], found 'r1'" },
        { "ldxw r0, [r1+2", 1, 15, "bad memory operand: expected a memory operand such as [r1+8], [r10-4] or [r2] (missing ']')" },
        { "ldxw r0, [r1 2]", 1, 14, "bad memory operand: expected '+' or '-' and an offset after the register, found '2'" },
        { "ldxw r0, [r1*2]", 1, 13, "unexpected character '*'" },
        { "ldxw r0, [r1+32768]", 1, 14, "offset +32768 is out of range (a 16-bit signed offset: -32768..32767)" },
        { "stxw [r1-32769], r2", 1, 10, "offset -32769 is out of range" },
        { "mov32 r0, 0x100000000", 1, 11, "immediate 0x100000000 is out of range (a 32-bit immediate" },
        { "mov32 %r0, 2147483648", 1, 12, "immediate 2147483648 is out of range" },
        { "mov r0, -2147483649", 1, 10, "immediate -2147483649 is out of range" },
        { "stw [r1], r2", 1, 11, "expected an immediate (a decimal or 0x hex number), found 'r2'" },
        { "lddw r0, 0x10000000000000000", 1, 10, "the number '0x10000000000000000' is too large (at most 64 bits)" },
        { "lddw r0, -9223372036854775809", 1, 11, "immediate -9223372036854775809 is out of range (a 64-bit immediate" },
        { "lddw r1, map 3", 1, 10, "expected a 64-bit immediate or a pseudo source (code_addr, map_by_fd, map_by_idx, map_value_by_fd, map_value_by_idx, var_addr), found 'map'" },
        { "mov r0, @", 1, 9, "unexpected character '@'" },
        { "mov r0, 12ab", 1, 9, "'12ab' is not a number" },
        { "lock", 1, 1, "'lock' takes an atomic operation after 'lock'" },
        { "lock foo [r1], r2", 1, 6, "expected an atomic operation after 'lock' (add, or, and, xor, xchg or cmpxchg, optionally after 'fetch', with the suffix 32 for 32 bits), found 'foo'" },
        { "lock or [%r10-8]", 1, 1, "wrong operand count: 'lock or' takes 2 operands (a memory operand [rN+offset], then a register), found 1" },
        { "call local", 1, 11, "expected a call target (+N, -N or a label) after 'local'" },
        { ".slot r1", 1, 7, "expected a 64-bit word (such as 0x0000000000000095), found 'r1'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Error_names_line_column_and_expectation(string text, int line, int column, string reason)
    {
        var e = Assert.Throws<EbpfAssemblyException>(() => Assembler.Assemble(text));
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith(reason, e.Reason);
        Assert.Equal($"line {line}, column {column}: {e.Reason}", e.Message);
    }

    [Fact]
    public void Line_numbers_start_where_the_caller_says()
    {
        var e = Assert.Throws<EbpfAssemblyException>(() => Assembler.AssembleBytes("exit\r\nfoo", 10));
        Assert.Equal((11, 1), (e.Line, e.Column));
    }

    [Fact]
    public void A_label_too_far_for_a_16_bit_offset_is_an_error_at_the_reference()
    {
        string text = "mov r0, 0\n  ja far\n" + string.Concat(Enumerable.Repeat("exit\n", 40000)) + "far: exit";
        var e = Assert.Throws<EbpfAssemblyException>(() => Assembler.Assemble(text));
        Assert.Equal((2, 6), (e.Line, e.Column));
        Assert.Contains("label 'far' is 40000 slots away", e.Reason);
    }

    [Fact]
    public void Null_text_is_an_argument_error()
    {
        Assert.Throws<ArgumentNullException>(() => Assembler.Assemble(null!));
    }
}
