namespace Ebpf.Tests.Cli;

/// <summary>
/// <c>ebpf disasm --syntax llvm</c> on the committed clang objects against llvm-objdump -d -r (LLVM 14) output,
/// recorded here with two edits: the <c>&lt;LBB..&gt;</c> labels dropped, and each relocated instruction showing the
/// relocation's symbol (llvm-objdump prints <c>r1 = 0 ll</c> or <c>call -1</c> and the symbol on a line of its own).
/// </summary>
public class LlvmDisasmCommandTests
{
    [Fact]
    public void Count_protocols_matches_llvm_objdump_with_the_map_named()
    {
        string[] expected =
        [
            "r3 = 65535",
            "*(u32 *)(r10 - 4) = r3",
            "r3 = 34",
            "if r3 > r2 goto +7",
            "r2 = *(u8 *)(r1 + 12)",
            "r3 = *(u8 *)(r1 + 13)",
            "r3 <<= 8",
            "r3 |= r2",
            "if r3 != 8 goto +2",
            "r1 = *(u8 *)(r1 + 23)",
            "*(u32 *)(r10 - 4) = r1",
            "r2 = r10",
            "r2 += -4",
            "r1 = protocol_counts ll",
            "call 1",
            "if r0 == 0 goto +3",
            "r1 = 1",
            "lock *(u64 *)(r0 + 0) += r1",
            "goto +23",
            "r1 = 1",
            "*(u64 *)(r10 - 16) = r1",
            "r2 = r10",
            "r2 += -4",
            "r3 = r10",
            "r3 += -16",
            "r1 = protocol_counts ll",
            "r4 = 1",
            "call 2",
            "r1 = r0",
            "r0 = 2",
            "if r1 == 0 goto +11",
            "r2 = r10",
            "r2 += -4",
            "r1 = protocol_counts ll",
            "call 1",
            "r1 = r0",
            "r0 = 1",
            "if r1 == 0 goto +3",
            "r2 = 1",
            "lock *(u64 *)(r1 + 0) += r2",
            "r0 = 2",
            "exit",
        ];
        Assert.Equal(expected, Texts(Tool.Run("disasm", Tool.Example("count_protocols.o"), "--syntax", "llvm")));
    }

    [Fact]
    public void Global_data_names_its_globals_and_its_local_function_and_appends_the_function()
    {
        // The socket program (12 slots) with weighted_sum from .text linked after it.
        string[] expected =
        [
            "call weighted_sum",
            "r1 = runs ll",
            "r2 = *(u64 *)(r1 + 0)",
            "r2 += 1",
            "*(u64 *)(r1 + 0) = r2",
            "r1 = largest_sum ll",
            "r2 = *(u64 *)(r1 + 0)",
            "if r2 >= r0 goto +1",
            "*(u64 *)(r1 + 0) = r0",
            "exit",
            "r0 = 0",
            "if r2 == 0 goto +19",
            "r3 = 0",
            "r4 = 255",
            "r6 = 0",
            "r5 = r3",
            "r0 = r5",
            "r0 &= 3",
            "r7 = .rodata.cst4 ll",
            "r7 += r0",
            "r0 = r1",
            "r0 += r5",
            "r8 = *(u8 *)(r0 + 0)",
            "r0 = *(u8 *)(r7 + 0)",
            "r0 *= r8",
            "r0 += r6",
            "r3 += 1",
            "if r3 >= r2 goto +2",
            "r6 = r0",
            "if r4 > r5 goto -16",
            "exit",
        ];
        Assert.Equal(expected, Texts(Tool.Run("disasm", Tool.Example("global_data.o"), "--syntax", "llvm")));
    }

    [Fact]
    public void An_unknown_syntax_is_a_usage_error()
    {
        var result = Tool.Run("disasm", Tool.Example("tcp_port.s"), "--syntax", "intel");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("intel", result.Err, StringComparison.Ordinal);
    }

    /// <summary>The text column of every instruction line (after pc and bytes; the second slot of an lddw has none).</summary>
    private static string[] Texts(Tool.Result result)
    {
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        return [.. result.OutLines.Skip(1).Where(l => l.Length > 32).Select(l => l[32..])];
    }
}
