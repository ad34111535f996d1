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
/// engines keep the check that stops the overrun.
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
