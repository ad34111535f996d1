using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Kernel;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Reads at an offset plus a second unknown (the filter workload's <c>off + 2 + ihl + 4 &lt;= 64</c>, then
/// <c>tcp = f + off + 2 + ihl</c>): the comparison bounds one register holding the sum of two numbers, and the read
/// adds the same two numbers again in another register; the bound recorded for the sum (<see cref="SumBound"/>)
/// carries over. And the kernel's shape, a packet pointer with a variable offset compared with the packet end.
/// </summary>
public class SumRelationTests
{
    // len >= 64; off (r5) is 12 or 16, ihl (r6) in [0, 60]; if (off + ihl + k > 64) return; read f[off + ihl + at]
    private static string Header(int k, int at, string sumOrder = "add r5, r6") => $"""
        mov r0, 0
        jlt r2, 64, done
        ldxb r3, [r1+0]
        mov r5, 12
        jne r3, 1, +1
        mov r5, 16
        ldxb r6, [r1+1]
        and r6, 60
        mov r7, r5
        add r7, r6
        add r7, {k}
        jgt r7, 64, done
        {sumOrder}
        mov r8, r1
        add r8, r5
        ldxb r0, [r8+{at}]
        done:
        exit
        """;

    private const int ReadPc = 15;

    [Theory]
    [InlineData(4, 3)]
    [InlineData(4, 0)]
    [InlineData(1, 3)] // off + ihl <= 63 is <= 60: off and ihl are multiples of 4 (known bits)
    [InlineData(20, 19)]
    public void A_read_inside_the_checked_sum_is_proven(int k, int at)
    {
        var analysis = Analyze.Asm(Header(k, at), new SafetyContext());
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(ReadPc).Outcome);
    }

    [Theory]
    [InlineData(4, 4)] // one byte past: f[64] when off + ihl = 60 and len = 64
    [InlineData(1, 4)] // off + ihl <= 63 is <= 60 (both multiples of 4): f[64] again
    [InlineData(20, 20)]
    public void A_read_one_byte_beyond_the_checked_sum_is_not_proven(int k, int at)
    {
        var analysis = Analyze.Asm(Header(k, at), new SafetyContext());
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(ReadPc).Outcome);
    }

    [Fact]
    public void The_sum_in_either_order_and_through_a_copy_gets_the_bound()
    {
        Assert.Equal(AccessOutcome.Proven, Analyze.Asm(Header(4, 3, "add r6, r5\nmov r5, r6"), new SafetyContext()).Access(ReadPc + 1).Outcome);
        Assert.Equal(AccessOutcome.Proven, Analyze.Asm(Header(4, 3, "mov r9, r6\nadd r5, r9"), new SafetyContext()).Access(ReadPc + 1).Outcome);
    }

    [Fact]
    public void A_sum_whose_part_changed_after_the_check_is_not_proven()
    {
        // ihl grows by 1 after the check: the read's sum is another number
        var analysis = Analyze.Asm(Header(4, 3, "add r6, 1\nadd r5, r6"), new SafetyContext());
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(ReadPc + 1).Outcome);
        // the check's register is moved after the comparison: the sum it bounded is the same
        var moved = Analyze.Asm(Header(4, 3, "add r7, 1\nadd r5, r6"), new SafetyContext());
        Assert.Equal(AccessOutcome.Proven, moved.Access(ReadPc + 1).Outcome);
    }

    [Fact]
    public void The_filter_workload_is_proven_completely()
    {
        var program = EbpfProgram.Create(File.ReadAllBytes(Tool.Example(Path.Combine("bench", "filter.bin"))), Verifier.Default);
        var analysis = program.Analysis.Safety(new SafetyContext());
        Assert.Equal(AccessOutcome.Proven, analysis.Access(63).Outcome); // tcp[3]: f[off + 2 + ihl + 3]
        Assert.Equal(AccessOutcome.Proven, analysis.Access(64).Outcome); // tcp[2]
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_proven_read_runs_without_a_check_and_reads_the_right_byte(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(Header(4, 3)));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var statistics = Assert.IsAssignableFrom<IMemoryCheckStatistics>(compiled);
        Assert.Equal(0, statistics.CheckedAccesses);
        var memory = new byte[64];
        for (int i = 0; i < memory.Length; i++)
        {
            memory[i] = (byte)(i + 100);
        }

        memory[0] = 1; // off = 16
        memory[1] = 44; // ihl = 44: 16 + 44 + 4 = 64 passes, the read is f[63]
        Assert.Equal(163ul, compiled.Run(memory));
        memory[1] = 45; // 45 & 60 = 44
        Assert.Equal(163ul, compiled.Run(memory));
        memory[1] = 48; // 16 + 48 + 4 > 64: returns 0
        Assert.Equal(0ul, compiled.Run(memory));
    }

    /// <summary>
    /// Header checks around the proven shape: the offset one of two constants or a masked byte, the length a masked
    /// byte, the check's constant and comparison (strict or not, either operand order, none), the sum built in either
    /// order or through a copy, one part changed after the check or not, the read at offsets around the bound. Each is
    /// analysed, then run with every check forced on over lengths 0..80 and random bytes: a proven read never stops.
    /// </summary>
    private static string Variant(Random random)
    {
        int k = random.Next(0, 24);
        int limit = random.Next(24, 80);
        string compare = random.Next(5) switch
        {
            0 => $"jgt r7, {limit}, done",
            1 => $"jge r7, {limit}, done",
            2 => $"mov r9, {limit}\njlt r9, r7, done",
            3 => $"mov r9, {limit}\njle r9, r7, done",
            _ => "mov r9, r9",
        };
        string offset = random.Next(3) == 0 ? $"ldxb r5, [r1+2]\nand r5, {random.Next(1, 64)}" : $"mov r5, {random.Next(0, 20)}\njne r3, 1, +1\nmov r5, {random.Next(0, 20)}";
        string sum = random.Next(4) switch
        {
            0 => "add r6, r5\nmov r5, r6",
            1 => "mov r9, r6\nadd r5, r9",
            2 => random.Next(2) == 0 ? "add r6, 1\nadd r5, r6" : "add r5, 2\nadd r5, r6",
            _ => "add r5, r6",
        };
        string[] loads = ["ldxb", "ldxh", "ldxw", "ldxdw"];
        return string.Join('\n',
            "mov r0, 0",
            $"jlt r2, {limit}, done",
            "ldxb r3, [r1+0]",
            offset,
            "ldxb r6, [r1+1]",
            $"and r6, {random.Next(1, 64)}",
            "mov r7, r5",
            "add r7, r6",
            $"add r7, {k}",
            compare,
            sum,
            "mov r8, r1",
            "add r8, r5",
            $"{loads[random.Next(4)]} r0, [r8+{Math.Max(0, k + random.Next(-4, 2) - 1)}]",
            "done:",
            "exit");
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void No_proven_read_of_a_generated_header_check_ever_stops_a_run(string engine)
    {
        var random = new Random(1315);
        int proven = 0, faults = 0;
        for (int i = 0; i < 150; i++)
        {
            string text = Variant(random);
            var program = ProgramLoader.Load(Assembler.Assemble(text));
            var analysis = program.Analysis.Safety(new SafetyContext());
            ICompiledProgram compiled;
            using (CheckPlan.ForceChecks())
            {
                // some variants are off by a few bytes (refuted): structural, so that they run and their checks stop them
                compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Verification = VerificationMode.Structural });
            }

            using (compiled)
            {
                int readPc = text.Split('\n').Where(line => !line.EndsWith(':')).ToList().FindIndex(line => line.Contains("[r8+", StringComparison.Ordinal));
                proven += analysis.Access(readPc).Outcome == AccessOutcome.Proven ? 1 : 0;
                for (int length = 0; length <= 80; length += 1 + random.Next(3))
                {
                    var memory = new byte[length];
                    random.NextBytes(memory);
                    try
                    {
                        compiled.Run(memory);
                    }
                    catch (EbpfMemoryAccessException e)
                    {
                        faults++;
                        Assert.True(analysis.Access(e.Pc).Outcome != AccessOutcome.Proven, $"proven access at pc {e.Pc} stopped a run of length {length}:\n{text}");
                    }
                }
            }
        }

        Assert.True(proven >= 20, $"{proven} proven reads");
        Assert.True(faults >= 20, $"{faults} faults");
    }

    /// <summary>
    /// The kernel's shape (<c>p = data + ihl; if (p + 8 &gt; data_end) return; read p[0..7]</c>): a packet pointer with
    /// a variable offset, compared with the packet end through a copy, proves the reads through it and its copies
    /// inside the range; one byte further is not proven.
    /// </summary>
    [Theory]
    [InlineData(7, AccessOutcome.Proven)]
    [InlineData(0, AccessOutcome.Proven)]
    [InlineData(8, AccessOutcome.Unknown)]
    public void A_packet_pointer_with_a_variable_offset_compared_with_the_end_proves_its_range(int at, AccessOutcome expected)
    {
        string asm = $"""
            ldxw r2, [r1+0]
            ldxw r3, [r1+4]
            mov r0, 0
            mov r4, r2
            add r4, 1
            jgt r4, r3, done
            ldxb r5, [r2+0]
            and r5, 15
            lsh r5, 2
            mov r6, r2
            add r6, r5
            mov r7, r6
            add r7, 8
            jgt r7, r3, done
            mov r8, r6
            ldxb r0, [r8+{at}]
            ldxb r9, [r6+0]
            done:
            exit
            """;
        var analysis = Analyze.Asm(asm, new SafetyContext(layout: KernelContextLayouts.Xdp));
        Assert.True(analysis.IsSafe, Findings.Messages(analysis));
        Assert.Equal(expected, analysis.Access(15).Outcome);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(16).Outcome);
    }
}
