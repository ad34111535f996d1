using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Loops bounded by a fraction of the input length (<c>half = len / 2; for (i = 0; i &lt; half; i++) dst[i] = src[i]</c>
/// with <c>dst = mem + half</c>, the memcpy workload's shape): the quotient keeps the scaled relation
/// <c>2 * half &lt;= len</c>, the index gets <c>2 * i &lt;= len - 2</c> from <c>i &lt; half</c>, and their sum is at
/// most <c>len - 1</c>, so both accesses of the loop are proven; off by one (<c>i &lt;= half</c>) they are not, and the
/// engines keep the check that stops the overrun. And pointers walking beside a counter (<c>p += 8; i += 1</c> with
/// <c>i &lt; len / 8</c>, log2's and hashmap's shape): linked with a stride at the loop head, so the bound on i bounds p.
/// </summary>
public class ScaledRelationTests
{
    // r0 = half; r3 = mem + half; loop over i (r2): r4 = r3 + i, r5 = r1 + i; dst[i] = src[i] (pcs 10, 11); then r0 = half
    private static string Copy(string divide, string loopTest) => $"""
        mov r0, r2
        {divide}
        mov r3, r1
        add r3, r0
        jlt r2, 2, done
        mov r2, 0
        loop:
        mov r4, r3
        add r4, r2
        mov r5, r1
        add r5, r2
        ldxb r5, [r5]
        stxb [r4], r5
        add r2, 1
        {loopTest} r2, r0, loop
        done:
        exit
        """;

    private const int LoadPc = 10;
    private const int StorePc = 11;

    [Theory]
    [InlineData("rsh r0, 1")]
    [InlineData("div r0, 2")]
    public void Copying_the_first_half_to_the_second_is_proven(string divide)
    {
        var analysis = Analyze.Asm(Copy(divide, "jlt"), new SafetyContext());
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven.Select(f => f.ToString())));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(LoadPc).Outcome);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(StorePc).Outcome);
    }

    [Theory]
    [InlineData("rsh r0, 1", "jle")] // i <= half: dst[half] is mem[2 * half], past the end for an even length
    [InlineData("rsh r0, 1", "jne")] // no upper bound from the test at all
    [InlineData("mov r0, r2", "jlt")] // "half" is the length: dst = mem + len
    [InlineData("rsh r0, 0", "jlt")]
    public void An_overrunning_copy_is_not_proven(string divide, string loopTest)
    {
        var analysis = Analyze.Asm(Copy(divide, loopTest), new SafetyContext());
        Assert.NotEqual(AccessOutcome.Proven, analysis.Access(StorePc).Outcome);
    }

    [Fact]
    public void The_memcpy_workload_proves_its_loop()
    {
        var program = EbpfProgram.Create(File.ReadAllBytes(Tool.Example(Path.Combine("bench", "memcpy.bin"))), Verifier.Default);
        var analysis = program.Analysis.Safety(new SafetyContext());
        Assert.Equal(AccessOutcome.Proven, analysis.Access(LoadPc).Outcome);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(StorePc).Outcome);
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(16).Outcome); // dst[half - 1] is mem[-1] when len < 2
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_proven_copy_runs_without_checks_and_copies(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(Copy("rsh r0, 1", "jlt")));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var statistics = Assert.IsAssignableFrom<IMemoryCheckStatistics>(compiled);
        Assert.Equal((0, 2), (statistics.CheckedAccesses, statistics.ProvenAccesses));
        for (int length = 0; length <= 9; length++)
        {
            byte[] memory = Enumerable.Range(1, length).Select(i => (byte)i).ToArray();
            byte[] expected = (byte[])memory.Clone();
            Array.Copy(memory, 0, expected, length / 2, length / 2);
            Assert.Equal((ulong)(length / 2), compiled.Run(memory));
            Assert.Equal(expected, memory);
        }
    }

    /// <summary>
    /// A family of copy loops around the proven shape: quotient by 1, 2, 3, 4 or 8 (shift or division), the destination
    /// moved by -2..2 bytes, a minimum length of 0..4, the index starting at 0 or 1 and stepping by 1 or 2, and four
    /// loop tests (one unbounded, one a byte too far). Each is analysed, then run with every check forced on over
    /// lengths 0..24: an access the analysis proves must never stop a run.
    /// </summary>
    private static string Variant(Random random)
    {
        string divide = random.Next(7) switch
        {
            0 => "mov r0, r0",
            1 => "rsh r0, 1",
            2 => "rsh r0, 2",
            3 => "rsh r0, 3",
            4 => "div r0, 3",
            5 => "div r0, 2",
            _ => "div r0, 4",
        };
        string[] tests = ["jlt", "jle", "jne", "jgt"];
        string test = tests[random.Next(tests.Length)];
        string loopTest = test == "jgt" ? "jgt r0, r2, loop" : $"{test} r2, r0, loop"; // jgt: half > i, the bound of jlt
        return string.Join('\n',
            "mov r0, r2",
            divide,
            "mov r3, r1",
            "add r3, r0",
            $"add r3, {random.Next(-2, 3)}",
            $"jlt r2, {random.Next(0, 5)}, done",
            $"mov r2, {random.Next(0, 2)}",
            "loop:",
            "mov r4, r3",
            "add r4, r2",
            "mov r5, r1",
            "add r5, r2",
            "ldxb r5, [r5]",
            "stxb [r4], r5",
            $"add r2, {random.Next(1, 3)}",
            loopTest,
            "done:",
            "exit");
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void No_proven_access_of_a_generated_copy_loop_ever_stops_a_run(string engine) =>
        AssertNoProvenAccessStops(engine, Variant, seed: 1313, lengths: 24, accessPcs: [LoadPc + 1, StorePc + 1], minProven: 20);

    /// <summary>
    /// Analyses 120 programs of <paramref name="generate"/>, runs each with every check forced on over lengths
    /// 0..<paramref name="lengths"/>, and fails when a run stops at an access the analysis proves; also fails when too
    /// few accesses are proven or too few runs stop (the family would then test nothing).
    /// </summary>
    private static void AssertNoProvenAccessStops(string engine, Func<Random, string> generate, int seed, int lengths, int[] accessPcs, int minProven)
    {
        var random = new Random(seed);
        var options = new ExecutionOptions { InstructionBudget = 20_000, Verification = VerificationMode.Structural }; // some variants are off by a little: refuted
        int provenAccesses = 0, faults = 0;
        for (int i = 0; i < 120; i++)
        {
            string text = generate(random);
            var program = ProgramLoader.Load(Assembler.Assemble(text));
            var analysis = program.Analysis.Safety(new SafetyContext());
            provenAccesses += accessPcs.Count(pc => analysis.Access(pc).Outcome == AccessOutcome.Proven);
            ICompiledProgram compiled;
            using (CheckPlan.ForceChecks())
            {
                compiled = TestEngines.Get(engine).Compile(program, null, options);
            }

            using (compiled)
            {
                for (int length = 0; length <= lengths; length++)
                {
                    try
                    {
                        compiled.Run(new byte[length]);
                    }
                    catch (EbpfMemoryAccessException e)
                    {
                        faults++;
                        Assert.True(analysis.Access(e.Pc).Outcome != AccessOutcome.Proven, $"proven access at pc {e.Pc} stopped a run of length {length}:\n{text}");
                    }
                    catch (EbpfException)
                    {
                        // the instruction budget (an endless loop): no memory access involved
                    }
                }
            }
        }

        Assert.True(provenAccesses >= minProven, $"{provenAccesses} proven accesses");
        Assert.True(faults > 20, $"{faults} faults");
    }

    /// <summary>
    /// Pointer walks beside a counter (log2's and hashmap's shape as clang compiles them: <c>p += size; i += 1</c>,
    /// <c>i &lt; len / size</c>), generated around the proven shape: element sizes 1, 2, 4 and 8, the bound divided by
    /// the size or by less, the pointer stepped by the size or by more, read at offset 0 or one element further, four
    /// loop tests. Run with every check forced on over lengths 0..40 on every engine: a proven access never stops a run.
    /// </summary>
    private static string Walk(Random random)
    {
        int[] sizes = [1, 2, 4, 8];
        string[] loads = ["ldxb", "ldxh", "ldxw", "ldxdw"];
        int s = random.Next(4);
        int size = sizes[s];
        int shift = Math.Max(0, s - random.Next(2)); // the bound len >> shift: len / size, or a larger bound
        int step = size * random.Next(1, 3);
        int offset = random.Next(3) == 0 ? size : 0;
        string[] tests = ["jlt", "jle", "jne", "jlt"];
        return string.Join('\n',
            "mov r0, 0",
            $"jlt r2, {size}, done",
            $"rsh r2, {shift}",
            "mov r3, 0",
            "loop:",
            $"{loads[s]} r4, [r1+{offset}]",
            "add r0, r4",
            $"add r1, {step}",
            "add r3, 1",
            $"{tests[random.Next(tests.Length)]} r3, r2, loop",
            "done:",
            "exit");
    }

    [Fact]
    public void The_log2_and_hashmap_walks_are_proven()
    {
        var log2 = EbpfProgram.Create(File.ReadAllBytes(Tool.Example(Path.Combine("bench", "log2.bin"))), Verifier.Default);
        Assert.Equal(AccessOutcome.Proven, log2.Analysis.Safety(new SafetyContext()).Access(17).Outcome);
        var walk = Analyze.Asm("mov r0, 0\njlt r2, 8, done\nrsh r2, 3\nmov r3, 0\nloop:\nldxdw r4, [r1]\nadd r0, r4\nadd r1, 8\nadd r3, 1\njlt r3, r2, loop\ndone:\nexit", new SafetyContext());
        Assert.True(walk.IsProven, string.Join("\n", walk.Unproven.Select(f => f.ToString())));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void No_proven_access_of_a_generated_pointer_walk_ever_stops_a_run(string engine) =>
        AssertNoProvenAccessStops(engine, Walk, seed: 1314, lengths: 40, accessPcs: [4], minProven: 10);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_copy_off_by_one_keeps_its_check_and_stops(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(Copy("rsh r0, 1", "jle")));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[4]));
        Assert.Equal(StorePc, e.Pc);
    }
}
