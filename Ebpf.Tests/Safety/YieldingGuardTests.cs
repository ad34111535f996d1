using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Il;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;
using Ebpf.X64.Compiler;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Guarded loops longer than the yield interval (<see cref="HelperReturnPlan.YieldInterval"/>: x64 code that yields
/// returns to the run method every so many backward jumps; a counting copy's count does not survive the host, so its
/// yield at the jump back to the head resumes with that jump and, when taken, through the guard again; a whole-range
/// copy resumes in itself). Checked x64 code yields from such loops as unchecked code does (re-enabled in the eighth
/// session, see the README's seventh x64 step), so here the x64 runs yield with their checks on. On every engine, the outcomes worked out here, with the loop's end and the input's end placed around the interval. Also the
/// checked code's own address sums (taken by the access, as in unchecked code), whose checks and faults name the sum.
/// </summary>
public class YieldingGuardTests
{
    // r0 = the sum of the bytes up to the first zero byte (strcmp's shape, no trip bound: the counting form). Load at pc 4.
    private const string SumToZero = "mov r0, 0\nmov r3, 0\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\njne r5, 0, loop\nexit";

    // r0 = the sum of the first len + k bytes (the bound through two shifts keeps the load unproven), tested at the
    // head and closed by an unconditional jump back (the whole-range form). Load at pc 9.
    private static string SumToBound(int k) =>
        $"mov r0, 0\nmov r3, 0\nmov r7, r2\nlsh r7, 8\nrsh r7, 8\nadd r7, {k}\nloop:\njge r3, r7, done\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\nja loop\ndone:\nexit";

    private static bool Guards(string engine) => engine is IlEngine.EngineName or X64Engine.EngineName;

    private static (int Loops, int Accesses, int WholeRange) GuardStatistics(ICompiledProgram compiled) =>
        compiled is ILoopGuardStatistics statistics ? (statistics.GuardedLoops, statistics.GuardedAccesses, statistics.WholeRangeLoops) : (0, 0, 0);

    /// <summary>Compiles with memory checks on (the default options) and returns the backward jumps between two yields of the x64 code.</summary>
    private static ICompiledProgram Compile(string engine, string text, out long yieldInterval)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(text));
        var plan = HelperReturnAnalysis.Plan(program);
        Assert.NotNull(plan);
        Assert.True(plan.Yields, "a loop without helper calls yields");
        yieldInterval = plan.YieldInterval;
        return TestEngines.Get(engine).Compile(program);
    }

    private static string Outcome(ICompiledProgram compiled, byte[] input) => LoopGuardTests.Outcome(compiled, input);

    private static byte[] Bytes(int length, int zeroAt = -1) => LoopGuardTests.Bytes(length, zeroAt);

    /// <summary>What <see cref="Outcome"/> gives for a run that returns <paramref name="r0"/> and leaves <paramref name="input"/> as it was.</summary>
    private static string Returns(long r0, byte[] input) => $"r0={r0} memory={Convert.ToHexString(input)}";

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_walk_longer_than_the_yield_interval_ends_and_faults_exactly_where_every_check_says(string engine)
    {
        using var compiled = Compile(engine, SumToZero, out long interval);
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        int n = (int)interval;

        // The x64 code yields at the jump of iterations n - 1, 2n - 1, ... (counted from 0): the walk ends just before,
        // at and just after a yield, and the input ends there too (the guard, entered again after the yield, must
        // find the count that is left: a walk off the end faults at the first byte past it).
        foreach (int zeroAt in new[] { n - 2, n - 1, n, (2 * n) - 1, (2 * n) + 1, (3 * n) - 1 })
        {
            var input = Bytes(3 * n, zeroAt);
            long sum = input.Take(zeroAt + 1).Sum(b => (long)b);
            Assert.Equal(Returns(sum, input), Outcome(compiled, input));
        }

        foreach (int length in new[] { n - 1, n, n + 1, (2 * n) - 1, 2 * n, (3 * n) + 1 })
        {
            Assert.Equal($"fault at pc 4, input+{length}", Outcome(compiled, Bytes(length)));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_whole_range_loop_longer_than_the_yield_interval_reads_exactly_to_its_bound(string engine)
    {
        foreach (int k in new[] { -1, 0, 1 })
        {
            using var compiled = Compile(engine, SumToBound(k), out long interval);
            Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(compiled));
            int n = (int)interval;
            foreach (int length in new[] { n - 1, n, n + 1, (3 * n) + 2 })
            {
                var input = Bytes(length);
                string expected = k > 0 ? $"fault at pc 9, input+{length}" : Returns(input.Take(length + k).Sum(b => (long)b), input);
                Assert.Equal(expected, Outcome(compiled, input));
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_checked_access_through_a_sum_left_out_checks_and_reports_the_sum(string engine)
    {
        // r3 = mem[0]; r4 = r1 + r3; r3 += 1; r0 = mem[r3] (through r4 + 1, unproven: the length is unknown) + r3. The
        // x64 code leaves the sum out and the load takes [r1 + r3 + 1 - 1], the increment made up in the displacement.
        var program = ProgramLoader.Load(Assembler.Assemble("ldxb r3, [r1]\nmov r4, r1\nadd r4, r3\nadd r3, 1\nldxb r0, [r4+1]\nadd r0, r3\nexit"));
        using var compiled = TestEngines.Get(engine).Compile(program);
        if (compiled is X64CompiledProgram x64)
        {
            var lines = x64.GetListing().Split('\n');
            int from = Array.FindIndex(lines, l => l.StartsWith("; pc 1:", StringComparison.Ordinal));
            int to = Array.FindIndex(lines, l => l.StartsWith("; pc 3:", StringComparison.Ordinal));
            Assert.True(from >= 0 && to > from, "the listing marks pcs 1 and 3");
            Assert.All(lines[from..to], l => Assert.StartsWith("; pc", l, StringComparison.Ordinal));
        }

        foreach (byte first in new byte[] { 0, 5, 6, 7, 200 })
        {
            var input = Bytes(8);
            input[0] = first;
            int at = first + 1;
            string expected = at < input.Length ? Returns(input[at] + at, input) : $"fault at pc 4, input+{at}";
            Assert.Equal(expected, Outcome(compiled, input));
        }
    }
}
