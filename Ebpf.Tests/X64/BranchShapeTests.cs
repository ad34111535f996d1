using System.Buffers.Binary;
using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// The same conditional jump twice around an instruction that leaves its registers alone (which x64 compiles to one
/// jump, as RyuJIT does for the IL engine), its near misses, and a conditional jump over a <c>ja</c> (a switch's compare
/// chain, compiled as it stands), on every engine, with and without memory checks: every condition, in both widths,
/// against a register and an immediate, at values on both sides of the compared one. The expected values come from
/// <see cref="Holds"/>, the RFC 9669 meaning of each jump written out here, and from a C# version of the switch loop.
/// </summary>
public class BranchShapeTests
{
    private static readonly string[] Conditions = ["jeq", "jne", "jset", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle"];

    private static readonly int[] Constants = [5, -3];

    public static TheoryData<string, bool> EnginesWithAndWithoutChecks() => AddressArithmeticTests.EnginesWithAndWithoutChecks();

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_jump_over_a_ja_goes_to_the_ja_target_exactly_when_its_condition_fails(string engine, bool checks)
    {
        foreach (var (condition, source, k) in Cases())
        {
            // pc 3 jumps over the ja at pc 4 to pc 5 (r0 = 2); the ja goes to pc 7 (r0 = 3).
            string text = $"ldxdw r3, [r1]\nldxdw r4, [r1+8]\nmov r0, 1\n{condition} r3, {source}, +1\nja +2\nmov r0, 2\nexit\nmov r0, 3\nexit";
            using var compiled = Compile(engine, checks, text);
            foreach (ulong x in Values(k))
            {
                ulong expected = Holds(condition, x, k) ? 2UL : 3UL;
                Assert.True(expected == compiled.Run(Input(x, k)), $"{condition} r3, {source} with r3 = 0x{x:x}, k = {k}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_repeated_jump_around_an_instruction_skips_both_or_neither(string engine, bool checks)
    {
        foreach (var (condition, source, k) in Cases())
        {
            // Taken: r0 = 0x100 + x. Not taken: r0 |= 0x10, then r3 >>= 4 (after the second compare), r0 += r3.
            string text = $"ldxdw r3, [r1]\nldxdw r4, [r1+8]\nmov r0, 0x100\n{condition} r3, {source}, +1\nor r0, 0x10\n"
                + $"{condition} r3, {source}, +1\nrsh r3, 4\nadd r0, r3\nexit";
            using var compiled = Compile(engine, checks, text);
            foreach (ulong x in Values(k))
            {
                ulong expected = Holds(condition, x, k) ? 0x100 + x : 0x110 + (x >> 4);
                Assert.True(expected == compiled.Run(Input(x, k)), $"{condition} r3, {source} with r3 = 0x{x:x}, k = {k}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void An_instruction_between_that_changes_the_compared_register_makes_the_second_compare_count(string engine, bool checks)
    {
        // x < 16: both jumps taken, r0 = 0x100 + x. Else r3 = x >> 4, and the second jump decides on that.
        using var compiled = Compile(engine, checks, "ldxdw r3, [r1]\nmov r0, 0x100\njlt r3, 16, +1\nrsh r3, 4\njlt r3, 16, +1\nadd r0, 1\nadd r0, r3\nexit");
        foreach (ulong x in new ulong[] { 0, 15, 16, 255, 256, 4095, 4096 })
        {
            ulong expected = x < 16 ? 0x100 + x : (x >> 4) < 16 ? 0x100 + (x >> 4) : 0x101 + (x >> 4);
            Assert.Equal(expected, compiled.Run(Input(x, 0)));
        }
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_second_compare_reached_from_elsewhere_still_compares(string engine, bool checks)
    {
        // pc 3 (y == 7) jumps straight to the second compare at pc 6, past the first compare and the or at pc 5.
        using var compiled = Compile(
            engine, checks, "ldxdw r3, [r1]\nldxdw r4, [r1+8]\nmov r0, 0x100\njeq r4, 7, +2\njlt r3, 16, +1\nor r0, 0x10\njlt r3, 16, +1\nor r0, 0x20\nexit");
        foreach (int y in new[] { 7, 8 })
        {
            foreach (ulong x in new ulong[] { 0, 15, 16, 17 })
            {
                ulong expected = x < 16 ? 0x100UL : y == 7 ? 0x120UL : 0x130UL;
                Assert.Equal(expected, compiled.Run(Input(x, y)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void Two_compares_with_different_constants_decide_each_on_its_own(string engine, bool checks)
    {
        using var compiled = Compile(engine, checks, "ldxdw r3, [r1]\nmov r0, 0\njlt r3, 16, +1\nor r0, 1\njlt r3, 17, +1\nor r0, 2\nexit");
        Assert.Equal(0UL, compiled.Run(Input(15, 0)));
        Assert.Equal(1UL, compiled.Run(Input(16, 0)));
        Assert.Equal(3UL, compiled.Run(Input(17, 0)));
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_jump_over_a_backward_ja_loops(string engine, bool checks)
    {
        // r0 counts up to r3: pc 3 leaves the loop when r0 >= r3, else the ja at pc 4 goes back to pc 2.
        using var compiled = Compile(engine, checks, "ldxdw r3, [r1]\nmov r0, 0\nadd r0, 1\njge r0, r3, +1\nja -3\nexit");
        Assert.Equal(1UL, compiled.Run(Input(0, 0)));
        Assert.Equal(1UL, compiled.Run(Input(1, 0)));
        Assert.Equal(1000UL, compiled.Run(Input(1000, 0)));
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_compare_chain_switch_over_every_input_byte_matches_the_CSharp_loop(string engine, bool checks)
    {
        using var compiled = Compile(engine, checks, SwitchLoop);
        var bytes = new byte[4096];
        new Random(19).NextBytes(bytes);
        foreach (int length in new[] { 0, 1, 2, 63, 64, 1000, 4096 })
        {
            var input = bytes.AsSpan(0, length).ToArray();
            Assert.Equal(SwitchReference(input), compiled.Run(input));
        }
    }

    [Fact]
    public void The_budget_stops_the_switch_loop_where_the_interpreter_stops_it()
    {
        var program = EbpfProgram.Create(Assembler.Assemble(SwitchLoop), StructuralOnlyVerifier.Instance);
        var input = new byte[64];
        new Random(5).NextBytes(input);
        var interpreter = TestEngines.Get("interpreter");
        int stopped = 0;
        for (long budget = 1; budget <= 400; budget += budget < 140 ? 1 : 37)
        {
            var options = new ExecutionOptions { InstructionBudget = budget };
            using var reference = interpreter.Compile(program, null, options);
            var expected = Record.Exception(() => reference.Run(input));
            stopped += expected is EbpfBudgetExceededException ? 1 : 0;
            foreach (var engine in TestEngines.All)
            {
                using var compiled = engine.Compile(program, null, options);
                var actual = Record.Exception(() => compiled.Run(input));
                Assert.Equal(expected?.GetType(), actual?.GetType());
                Assert.Equal((expected as EbpfBudgetExceededException)?.Pc, (actual as EbpfBudgetExceededException)?.Pc);
            }
        }

        // The 64 bytes take several hundred instructions: every budget up to 140 stops the run somewhere in the loop.
        Assert.True(stopped >= 140, $"only {stopped} budgets stopped the run");
    }

    [Fact]
    public void X64_compiles_a_repeated_compare_to_one_jump()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        foreach (bool checks in new[] { true, false })
        {
            string twice = Listing("ldxdw r3, [r1]\nmov r0, 0\njlt r3, 16, +1\nor r0, 1\njlt r3, 16, +1\nrsh r3, 4\nadd r0, r3\nexit", checks);
            var compares = Between(twice, "; pc 2:", "; pc 6:").Split('\n').Count(line => line.Contains(" cmp "));
            Assert.Equal(1, compares);
            Assert.Equal(["; pc 2", "; pc 3", "; pc 4", "; pc 5"], Headers(twice, 2, 5));
        }
    }

    /// <summary>
    /// acc over the bytes: case b &amp; 3 of 0: acc += 1; 1: acc ^= 0x5a; 2: acc *= 3; 3: acc += i. Each case is a
    /// <c>jeq +1; ja</c> pair, as clang lays out a small switch.
    /// </summary>
    private const string SwitchLoop = """
        mov r0, 0
        mov r5, 0
        jge r5, r2, +19
        mov r6, r1
        add r6, r5
        ldxb r7, [r6]
        and r7, 3
        jeq r7, 0, +1
        ja +2
        add r0, 1
        ja +9
        jeq r7, 1, +1
        ja +2
        xor r0, 0x5a
        ja +5
        jeq r7, 2, +1
        ja +2
        mul r0, 3
        ja +1
        add r0, r5
        add r5, 1
        ja -20
        exit
        """;

    private static ulong SwitchReference(byte[] input)
    {
        ulong acc = 0;
        for (int i = 0; i < input.Length; i++)
        {
            acc = (input[i] & 3) switch
            {
                0 => acc + 1,
                1 => acc ^ 0x5a,
                2 => acc * 3,
                _ => acc + (ulong)i,
            };
        }

        return acc;
    }

    /// <summary>Every condition in both widths, against r4 (which holds k) and against the immediate k.</summary>
    internal static IEnumerable<(string Condition, string Source, int K)> Cases()
    {
        foreach (string condition in Conditions)
        {
            foreach (string width in new[] { "", "32" })
            {
                foreach (int k in Constants)
                {
                    yield return (condition + width, "r4", k);
                    yield return (condition + width, k.ToString(System.Globalization.CultureInfo.InvariantCulture), k);
                }
            }
        }
    }

    /// <summary>Values of r3 on both sides of k (as 64 and as 32 bits), at 0, at the sign bits and with only the upper half different.</summary>
    internal static ulong[] Values(int k)
    {
        ulong wide = unchecked((ulong)(long)k);
        return [0, 1, wide - 1, wide, wide + 1, ulong.MaxValue, 0x8000_0000, 0x7FFF_FFFF, 1UL << 63, (1UL << 32) | (uint)k,
            0xFFFF_FFFF_0000_0000UL | (uint)(k + 1), (uint)k, (uint)(k - 1)];
    }

    /// <summary>
    /// Whether the jump is taken with r3 = <paramref name="x"/> and the other operand k (r4 holds k sign-extended, and
    /// the immediate is sign-extended to 64 bits): the 32-bit forms compare the low halves.
    /// </summary>
    private static bool Holds(string condition, ulong x, int k)
    {
        bool narrow = condition.EndsWith("32", StringComparison.Ordinal);
        string op = narrow ? condition[..^2] : condition;
        ulong a = narrow ? (uint)x : x;
        ulong b = narrow ? (uint)k : unchecked((ulong)(long)k);
        long sa = narrow ? (int)(uint)x : unchecked((long)x);
        long sb = k;
        return op switch
        {
            "jeq" => a == b,
            "jne" => a != b,
            "jset" => (a & b) != 0,
            "jgt" => a > b,
            "jge" => a >= b,
            "jlt" => a < b,
            "jle" => a <= b,
            "jsgt" => sa > sb,
            "jsge" => sa >= sb,
            "jslt" => sa < sb,
            "jsle" => sa <= sb,
            _ => throw new ArgumentException(op),
        };
    }

    private static byte[] Input(ulong x, long y)
    {
        var input = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(input, x);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(8), y);
        return input;
    }

    private static ICompiledProgram Compile(string engine, bool checks, string text)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        return TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { MemoryChecks = checks });
    }

    private static string Listing(string text, bool checks)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, null, new ExecutionOptions { MemoryChecks = checks });
        return compiled.GetListing();
    }

    /// <summary>The listing from the line that starts with <paramref name="from"/> up to the one that starts with <paramref name="to"/>.</summary>
    internal static string Between(string listing, string from, string to)
    {
        int start = listing.IndexOf(from, StringComparison.Ordinal);
        int end = listing.IndexOf(to, start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"no '{from}' ... '{to}' in:\n{listing}");
        return listing[start..end];
    }

    /// <summary>The pc headers from pc <paramref name="first"/> on, as long as no code line comes between them (pcs that share a translation), up to pc <paramref name="last"/>.</summary>
    private static string[] Headers(string listing, int first, int last)
    {
        var lines = listing.Split('\n');
        int start = Array.FindIndex(lines, line => line.StartsWith($"; pc {first}:", StringComparison.Ordinal));
        Assert.True(start >= 0, listing);
        var headers = new List<string>();
        for (int i = start; i < lines.Length && lines[i].StartsWith("; pc ", StringComparison.Ordinal) && headers.Count <= last - first; i++)
        {
            headers.Add(lines[i][..lines[i].IndexOf(':', StringComparison.Ordinal)]);
        }

        return [.. headers];
    }
}
