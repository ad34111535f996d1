using System.Buffers.Binary;
using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// If-conversion in the x64 compiler (a conditional jump over a short run of register arithmetic compiled as the run in
/// scratch registers, the compare and <c>cmov</c>s): every converted shape gives the interpreter's result on every
/// engine, with and without memory checks, for every condition in both widths against a register and an immediate,
/// with values on both sides of the compared one, for runs of 32- and 64-bit operations that move, alias, swap and
/// overwrite registers (the compared ones included); the listing shows <c>cmov</c> where the compiler converts (so the
/// comparisons above do run converted code) and a jump where it must not.
/// </summary>
public class IfConversionTests
{
    /// <summary>Runs of one to three instructions over r0, r3 (compared), r4 (compared or k), r5-r7.</summary>
    private static readonly string[] Runs =
    [
        "or r0, 0x10",
        "mov32 r0, 0",
        "mov r0, -1",
        "mov32 r0, -1",
        "add32 r6, r7",
        "rsh r3, 4",
        "mov32 r5, r5",
        "lsh32 r5, 0",
        "rsh r6, 0",
        "neg32 r7",
        "mov r6, r3\nrsh r6, 32",
        "mov r4, r3\nmov r3, r6",
        "add r0, r0\nsub32 r4, r6",
        "mul r6, -7\nand32 r6, r5",
        "mov r6, r0\nadd r6, r6",
        "mov r6, r0\nadd r0, 1",
        "mov r6, r5\nmov32 r7, r6",
        "arsh32 r4, 1\nlsh r3, 63",
        "mov r6, r3\nmov r3, r4\nmov r4, r6",
        "mov r0, r6\nmov r6, r7\nmov r7, r0",
        "neg r7\nadd r7, r0\narsh r7, 3",
        "mul32 r0, r5\nsub r0, 9\nxor r0, r6",
        "mov r6, r7\nadd r7, 5\nadd r6, r7",
        "mov r6, 5\nmov r7, r6\nadd r6, 1",
        "mov r0, 1\nmov32 r6, 2\nmov r7, 0x7fffffff",
        "xor32 r3, r4\nmul r4, 3\nor32 r0, r3",
    ];

    public static TheoryData<string, bool> EnginesWithAndWithoutChecks() => AddressArithmeticTests.EnginesWithAndWithoutChecks();

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_jump_over_a_run_gives_the_interpreters_result(string engine, bool checks) =>
        // The jump at pc 7 skips the run; pc 6 jumps straight to the end when z == 77 (the end is a target of both).
        AssertEveryRun(engine, checks, (jump, run, length) => $"jeq r5, 77, +{length + 1}\n{jump}, +{length}\n{run}\n");

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_run_that_ends_in_a_ja_to_the_jumps_target_gives_the_interpreters_result(string engine, bool checks) =>
        // if (c) goto end; run; ja end (ja +0).
        AssertEveryRun(engine, checks, (jump, run, length) => $"{jump}, +{length + 1}\n{run}\nja +0\n");

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_loop_latch_whose_run_ends_in_a_ja_back_gives_the_interpreters_result(string engine, bool checks) =>
        // Four rounds (r8 counts them); in each r3 moves on, and both the jump and the ja after the run go back to the
        // head, as the latch of clang's log2 loop does.
        AssertEveryRun(engine, checks, (jump, run, length) => $"mov r8, 0\nhead: jge r8, 4, +{length + 5}\nadd r8, 1\nmul r3, 5\nadd r3, 1\n{jump}, head\n{run}\nja head\n");

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_repeated_jump_around_two_instructions_gives_the_interpreters_result(string engine, bool checks)
    {
        foreach (var (condition, source, k) in BranchShapeTests.Cases())
        {
            // X (first) must keep the compared registers for the shape; Y may change them.
            foreach (var (x, y) in new[] { ("or r0, 0x10", "rsh r3, 16"), ("mov32 r6, r7", "add r4, r6"), ("add32 r0, 2", "mov r0, r5"), ("lsh r7, 3", "mov32 r3, 0") })
            {
                string text = Prologue + $"{condition} r3, {source}, +1\n{x}\n{condition} r3, {source}, +1\n{y}\n" + Epilogue;
                AssertSameAsInterpreter(engine, checks, text, k, $"{condition} r3, {source} twice around '{x}', then '{y}'");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Random_diamonds_give_the_interpreters_result(bool checks)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // 1,500 programs of one to three diamonds each (random shapes, conditions, operands, runs of random arithmetic
        // over r0-r9, sometimes a jump from before into or to the end of a diamond), eight inputs each whose registers
        // often repeat values (so that jeq and jne go both ways): x64 against the interpreter.
        var random = new Random(22);
        var options = new ExecutionOptions { MemoryChecks = checks };
        int converting = 0;
        const int Programs = 1500;
        for (int n = 0; n < Programs; n++)
        {
            string text = RandomDiamonds(random);
            var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
            using var reference = TestEngines.Get("interpreter").Compile(program, null, options);
            using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, null, options);
            converting += compiled.GetListing().Contains(" cmov", StringComparison.Ordinal) ? 1 : 0;
            ulong[] pool = [0, 1, ulong.MaxValue, 0x8000_0000, 0x7fff_ffff, 1UL << 63, 5, (ulong)random.NextInt64(), (ulong)random.Next(-8, 8)];
            for (int i = 0; i < 8; i++)
            {
                var input = new byte[80];
                for (int r = 0; r < 10; r++)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(8 * r), pool[random.Next(pool.Length)]);
                }

                ulong expected = reference.Run(input);
                ulong actual = compiled.Run(input);
                Assert.True(expected == actual, $"expected 0x{expected:x}, got 0x{actual:x} for\n{text}\nwith input {Convert.ToHexString(input)}");
            }
        }

        // Most of them run converted code (the rest keep their jumps: a jump into a run, a budget-free near miss).
        Assert.True(converting > Programs / 2, $"only {converting} of {Programs} programs have a cmov");
    }

    [Fact]
    public void The_budget_stops_converted_code_where_the_interpreter_stops_it()
    {
        string text = Prologue + "mov r8, 0\nhead: jge r8, 9, +8\nadd r8, 1\nmul r3, 5\nadd r3, 1\njlt r3, r4, +1\nor r0, 0x10\n"
            + "jsgt r3, 7, head\nmov r6, r3\nja head\n" + Epilogue;
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        var input = Input(0x1234_5678_9abc_def0, 0x7777_0000_0000, 3);
        for (long budget = 1; budget <= 120; budget++)
        {
            var options = new ExecutionOptions { InstructionBudget = budget };
            using var reference = TestEngines.Get("interpreter").Compile(program, null, options);
            var expected = Record.Exception(() => reference.Run(input));
            foreach (var engine in TestEngines.All)
            {
                using var compiled = engine.Compile(program, null, options);
                var actual = Record.Exception(() => compiled.Run(input));
                Assert.Equal(expected?.GetType(), actual?.GetType());
                Assert.Equal((expected as EbpfBudgetExceededException)?.Pc, (actual as EbpfBudgetExceededException)?.Pc);
            }
        }
    }

    [Fact]
    public void X64_converts_each_shape_to_cmovs_with_no_jump()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        foreach (bool checks in new[] { true, false })
        {
            foreach (var (condition, source, _) in BranchShapeTests.Cases())
            {
                // Forward over three, with the end a target from elsewhere too: three registers written, three cmovs.
                string forward = Listing(Prologue + $"jeq r5, 77, +4\n{condition} r3, {source}, +3\nmov r6, r3\nmov r3, r4\nmov r4, r6\n" + Epilogue, checks);
                AssertConverted(forward, 7, 11, cmovs: 3);

                // The repeated jump: two registers, one compare.
                string repeated = Listing(Prologue + $"{condition} r3, {source}, +1\nor r0, 0x10\n{condition} r3, {source}, +1\nrsh r3, 16\n" + Epilogue, checks);
                AssertConverted(repeated, 6, 10, cmovs: 2);

                // A latch: the run's one register, and the ja that goes back.
                string latch = Listing(Prologue + $"mov r8, 0\njge r8, 4, +5\nadd r8, 1\nadd r3, 1\n{condition} r3, {source}, -4\nmov32 r7, 0\nja -6\n" + Epilogue, checks);
                AssertConverted(latch, 10, 12, cmovs: 1);
                Assert.Contains("jmp", BranchShapeTests.Between(latch, "; pc 12:", "; pc 13:"), StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("ldxdw r6, [r1]", 1)]
    [InlineData("stxdw [r10-8], r6", 1)]
    [InlineData("call 0", 1)]
    [InlineData("div r6, r7", 1)]
    [InlineData("mod r6, 3", 1)]
    [InlineData("lsh r6, r7", 1)]
    [InlineData("be32 r6", 1)]
    [InlineData("movsx864 r6, r7", 1)]
    [InlineData("lddw r6, 0x1122334455667788", 2)]
    [InlineData("exit", 1)]
    [InlineData("add r0, 1\nadd r6, 1\nadd r7, 1\nadd r5, 1", 4)]
    public void X64_keeps_the_jump_over_a_run_it_must_not_convert(string run, int slots)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var environment = new ProgramEnvironment();
        environment.Helpers.Add(0, "zero", (_, _, _, _, _) => 0);
        string text = Prologue + $"jlt r3, r4, +{slots}\n{run}\n" + Epilogue;
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, environment, new ExecutionOptions { Verification = VerificationMode.Structural });
        string listing = compiled.GetListing();
        string diamond = BranchShapeTests.Between(listing, "; pc 6:", "; pc 7:");
        Assert.Contains("jb ", diamond, StringComparison.Ordinal);
        Assert.DoesNotContain("cmov", BranchShapeTests.Between(listing, "; pc 6:", $"; pc {7 + slots}:"), StringComparison.Ordinal);
    }

    [Fact]
    public void X64_keeps_the_jump_when_another_jump_enters_the_run()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // pc 6 jumps to pc 9, the second instruction of the run of the jump at pc 7.
        string text = Prologue + "jeq r5, 77, +2\njlt r3, r4, +2\nadd r0, 1\nadd r6, 1\n" + Epilogue;
        string listing = Listing(text, checks: true);
        Assert.Contains("jb ", BranchShapeTests.Between(listing, "; pc 7:", "; pc 8:"), StringComparison.Ordinal);
        Assert.DoesNotContain("cmov", BranchShapeTests.Between(listing, "; pc 7:", "; pc 10:"), StringComparison.Ordinal);
        foreach (var engine in TestEngines.All)
        {
            foreach (long z in new long[] { 77, 78 })
            {
                foreach (ulong x in new ulong[] { 1, 100 })
                {
                    var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
                    using var reference = TestEngines.Get("interpreter").Compile(program, null, new ExecutionOptions());
                    using var compiled = engine.Compile(program, null, new ExecutionOptions());
                    Assert.Equal(reference.Run(Input(x, 50, z)), compiled.Run(Input(x, 50, z)));
                }
            }
        }
    }

    /// <summary>r3 = x, r4 = y (compared), r5 = z, r0, r6, r7 derived from them (six slots, pc 0-5).</summary>
    private const string Prologue = "ldxdw r3, [r1]\nldxdw r4, [r1+8]\nldxdw r5, [r1+16]\nmov r0, r5\nmov r6, r4\nmov r7, r3\n";

    /// <summary>r0 = a hash of r0 and r3-r7, so a wrong bit in any of them shows.</summary>
    private const string Epilogue =
        "mul r6, 0x1f3\nmul r7, 0x2b1\nlsh r0, 7\nxor r0, r3\nmul r0, 31\nadd r0, r4\nmul r0, 31\nadd r0, r5\nmul r0, 31\nadd r0, r6\nmul r0, 31\nadd r0, r7\nexit";

    private static int Count(string run) => run.Split('\n').Length;

    /// <summary>For every condition and operand and every run of <see cref="Runs"/>: the program <paramref name="shape"/>
    /// makes of the jump (<c>jlt r3, r4</c>, without its target), the run and the run's length, between <see cref="Prologue"/>
    /// and <see cref="Epilogue"/>, gives the interpreter's result.</summary>
    private static void AssertEveryRun(string engine, bool checks, Func<string, string, int, string> shape)
    {
        foreach (var (condition, source, k) in BranchShapeTests.Cases())
        {
            foreach (string run in Runs)
            {
                string text = Prologue + shape($"{condition} r3, {source}", run, Count(run)) + Epilogue;
                AssertSameAsInterpreter(engine, checks, text, k, $"'{run}' in:\n{text}");
            }
        }
    }

    private static readonly string[] ConditionNames = ["jeq", "jne", "jset", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle"];

    private static readonly string[] OperationNames = ["add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh", "neg", "mov"];

    /// <summary>
    /// A program that loads r0, r2-r9 and then r1 from the input, then one to three diamonds (a forward jump over a run,
    /// the same jump twice around two instructions, or a run that ends in a ja to the jump's target), each sometimes
    /// entered from a jump before it, then a hash of r0-r9 into r0. Jumps name lines by index (label <c>lN</c>).
    /// </summary>
    private static string RandomDiamonds(Random random)
    {
        var lines = new List<(string Text, int Target)>();
        foreach (int r in (ReadOnlySpan<int>)[0, 2, 3, 4, 5, 6, 7, 8, 9, 1])
        {
            lines.Add(($"ldxdw r{r}, [r1+{8 * r}]", -1));
        }

        int diamonds = random.Next(1, 4);
        for (int d = 0; d < diamonds; d++)
        {
            int shape = random.Next(3);
            int length = shape == 1 ? 2 : random.Next(1, 4);
            bool entered = random.Next(4) == 0;
            int entry = lines.Count;
            if (entered)
            {
                lines.Add(("", -1));
            }

            string condition = RandomCondition(random);
            int start = lines.Count;
            var run = Enumerable.Range(0, length).Select(_ => RandomArithmetic(random)).ToArray();
            switch (shape)
            {
                case 0:
                    lines.Add((condition, start + 1 + length));
                    lines.AddRange(run.Select(text => (text, -1)));
                    break;
                case 1:
                    lines.Add((condition, start + 2));
                    lines.Add((run[0], -1));
                    lines.Add((condition, start + 4));
                    lines.Add((run[1], -1));
                    break;
                default:
                    lines.Add((condition, start + 2 + length));
                    lines.AddRange(run.Select(text => (text, -1)));
                    lines.Add(("ja", start + 2 + length));
                    break;
            }

            if (entered)
            {
                // Into the diamond (past its jump) or to its end.
                lines[entry] = (RandomCondition(random), random.Next(start + 1, lines.Count + 1));
            }
        }

        foreach (int r in (ReadOnlySpan<int>)[1, 2, 3, 4, 5, 6, 7, 8, 9])
        {
            lines.Add(("mul r0, 0x1000193", -1));
            lines.Add(($"xor r0, r{r}", -1));
        }

        lines.Add(("exit", -1));
        var targets = lines.Where(line => line.Target >= 0).Select(line => line.Target).ToHashSet();
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            string label = targets.Contains(i) ? $"l{i}: " : "";
            string target = lines[i].Target >= 0 ? (lines[i].Text == "ja" ? $" l{lines[i].Target}" : $", l{lines[i].Target}") : "";
            text.Append(label).Append(lines[i].Text).Append(target).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>A conditional jump without its target: random condition, width, registers (r0-r9) and immediate.</summary>
    private static string RandomCondition(Random random)
    {
        string name = ConditionNames[random.Next(ConditionNames.Length)] + (random.Next(2) == 0 ? "" : "32");
        string source = random.Next(2) == 0 ? $"r{random.Next(10)}" : RandomImmediate(random);
        return $"{name} r{random.Next(10)}, {source}";
    }

    /// <summary>One instruction of a run: random operation, width, registers (r0-r9) and immediate (shift counts in range).</summary>
    private static string RandomArithmetic(Random random)
    {
        string operation = OperationNames[random.Next(OperationNames.Length)];
        bool narrow = random.Next(2) == 0;
        string name = operation + (narrow ? "32" : "");
        int d = random.Next(10);
        if (operation == "neg")
        {
            return $"{name} r{d}";
        }

        if (operation is "lsh" or "rsh" or "arsh")
        {
            int[] counts = narrow ? [0, 1, 7, 31] : [0, 1, 31, 32, 63];
            return $"{name} r{d}, {counts[random.Next(counts.Length)]}";
        }

        return random.Next(2) == 0 ? $"{name} r{d}, r{random.Next(10)}" : $"{name} r{d}, {RandomImmediate(random)}";
    }

    private static string RandomImmediate(Random random) =>
        (random.Next(4) switch { 0 => 0, 1 => -1, 2 => random.Next(-8, 8), _ => random.Next() - (1 << 30) }).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Compiles <paramref name="text"/> on the interpreter and on <paramref name="engine"/> and compares r0 for x on both sides of k (and of its 32-bit half), with y = k, and y = x.</summary>
    private static void AssertSameAsInterpreter(string engine, bool checks, string text, int k, string what)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        var options = new ExecutionOptions { MemoryChecks = checks };
        using var reference = TestEngines.Get("interpreter").Compile(program, null, options);
        using var compiled = TestEngines.Get(engine).Compile(program, null, options);
        foreach (ulong x in BranchShapeTests.Values(k))
        {
            foreach (long y in new[] { k, unchecked((long)x) })
            {
                foreach (long z in new long[] { 77, unchecked((long)0xfedc_ba98_7654_3210) })
                {
                    var input = Input(x, y, z);
                    ulong expected = reference.Run(input);
                    ulong actual = compiled.Run(input);
                    Assert.True(expected == actual, $"{what}: x = 0x{x:x}, y = 0x{y:x}, z = {z}: expected 0x{expected:x}, got 0x{actual:x}");
                }
            }
        }
    }

    private static byte[] Input(ulong x, long y, long z)
    {
        var input = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(input, x);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(8), y);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(16), z);
        return input;
    }

    private static string Listing(string text, bool checks)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, null, new ExecutionOptions { MemoryChecks = checks });
        return compiled.GetListing();
    }

    /// <summary>From the jump at pc <paramref name="jump"/> up to pc <paramref name="end"/>: one compare, the given number of cmovs and no jump.</summary>
    private static void AssertConverted(string listing, int jump, int end, int cmovs)
    {
        var lines = BranchShapeTests.Between(listing, $"; pc {jump}:", $"; pc {end}:").Split('\n').Where(line => !line.StartsWith(';')).ToArray();
        Assert.True(cmovs == lines.Count(line => line.Contains(" cmov", StringComparison.Ordinal)), listing);
        Assert.True(1 == lines.Count(line => line.Contains(" cmp ", StringComparison.Ordinal) || line.Contains(" test ", StringComparison.Ordinal)), listing);
        Assert.True(!lines.Any(line => System.Text.RegularExpressions.Regex.IsMatch(line, @"\s(j[a-z]+)\s")), listing);
    }
}
