using System.Runtime.InteropServices;
using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Il;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;
using Ebpf.X64.Compiler;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Loop guards (<see cref="LoopGuardPlan"/>): the IL and x64 engines run a loop whose accesses the analysis cannot
/// prove as an unchecked copy behind one guard, and continue in the checked loop where the guard runs out, so every run
/// ends as with every check on: the same result and memory, or the same fault at the same pc and address. The
/// interpreter ignores guards (its statistics say 0). The whole-range form has its own tests
/// (<see cref="WholeRangeGuardTests"/>). Hand-written edge cases with their results worked out here, the workloads
/// the guards are for, and generated loop programs compared with the compilation that checks everything.
/// </summary>
public class LoopGuardTests
{
    // r0 = the sum of the bytes up to the first zero byte; walks until it reads one (strcmp's shape). Load at pc 4.
    private const string SumToZero = "mov r0, 0\nmov r3, 0\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\njne r5, 0, loop\nexit";

    private static bool Guards(string engine) => engine is IlEngine.EngineName or X64Engine.EngineName;

    /// <summary>The guarded loops, their guarded accesses and the loops with the whole-range form too.</summary>
    private static (int Loops, int Accesses, int WholeRange) GuardStatistics(ICompiledProgram compiled) =>
        compiled is ILoopGuardStatistics statistics ? (statistics.GuardedLoops, statistics.GuardedAccesses, statistics.WholeRangeLoops) : (0, 0, 0);

    private static ICompiledProgram Compile(string engine, string text, ExecutionOptions? options = null) =>
        TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(text)), null, options);

    /// <summary>Runs on a pinned copy of <paramref name="input"/>: r0 and the memory, or the fault's pc and its address relative to the input.</summary>
    internal static string Outcome(ICompiledProgram compiled, byte[] input)
    {
        var memory = GC.AllocateArray<byte>(input.Length, pinned: true);
        input.CopyTo(memory);
        ulong start = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(memory, 0);
        try
        {
            return $"r0={compiled.Run(memory)} memory={Convert.ToHexString(memory)}";
        }
        catch (EbpfMemoryAccessException e)
        {
            return $"fault at pc {e.Pc}, input{unchecked((long)(e.Address - start)):+0;-0;+0}";
        }
    }

    /// <summary>The walk of <see cref="SumToZero"/> worked out here: the sum, or the fault one byte past the end.</summary>
    private static string ExpectedSumToZero(byte[] input, int pc, int start = 0, int step = 1)
    {
        ulong sum = 0;
        for (long i = start; ; i += step)
        {
            if (i < 0 || i >= input.Length)
            {
                return $"fault at pc {pc}, input{i:+0;-0;+0}";
            }

            sum += input[i];
            if (input[i] == 0)
            {
                return $"r0={sum} memory={Convert.ToHexString(input)}";
            }
        }
    }

    /// <summary>Bytes 1..250, never 0, with a 0 at <paramref name="zeroAt"/> (none for -1).</summary>
    internal static byte[] Bytes(int length, int zeroAt = -1)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(1 + (i * 7 % 250));
        }

        if (zeroAt >= 0)
        {
            bytes[zeroAt] = 0;
        }

        return bytes;
    }

    private static EbpfProgram Workload(string name) =>
        EbpfProgram.Create(File.ReadAllBytes(Tool.Example(Path.Combine("bench", name + ".bin"))), Verifier.Default);

    private static IReadOnlyList<LoopGuard> LoopsOf(EbpfProgram program) =>
        LoopGuardPlan.Create(program, _ => true, _ => AccessRegion.Context).Loops;

    private static string Describe(LoopGuard loop) =>
        $"head {loop.Head}: " + string.Join("; ", loop.Accesses.Select(a => $"pc {a.Pc} at {a.Address} step {a.Step}"))
        + string.Concat(loop.EntryConditions.Select(c => $"; entry r{c.Register} == r{c.Source} + {c.Delta}"));

    [Fact]
    public void The_analysis_follows_strcmps_index_and_checksums_copied_index()
    {
        // strcmp (clang -O2): head 9; a[i] at pc 18 (r1 is a + 1, so r2 = r1 + r0 reads a[i + 1]) and b[i] at pc 11, i = r0 += 1
        Assert.Equal(["head 9: pc 11 at r0 + r3 + 0 step 1; pc 18 at r0 + r1 + 0 step 1"], LoopsOf(Workload("strcmp")).Select(Describe));

        // checksum: the IP header loop (head 37, from byte 12 on) keeps the index in r6 and copies it to r0 (r0 = r6 after r6 += 2),
        // so it needs r0 == r6 on entry; the TCP loop (head 88) steps r6 by 2 on both of its paths.
        Assert.Equal(
            [
                "head 37: pc 39 at r0 + r1 + 13 step 2; pc 40 at r0 + r1 + 12 step 2; entry r0 == r6 + 0",
                "head 88: pc 91 at r1 + r6 + 1 step 2; pc 92 at r1 + r6 + 0 step 2",
            ],
            LoopsOf(Workload("checksum")).Select(Describe));

        // checksum's loops end on a test of a moving value against an invariant one on every iteration (the whole-range
        // form's trip bound): r7 = r0 + 15 < r4 at pc 49, r8 = r6 + 3 < r2 at pc 86; strcmp's ends on the bytes read.
        Assert.Equal(
            ["pc 49: r0 + 15 < r4 + 0 step 2", "pc 86: r6 + 3 < r2 + 0 step 2"],
            LoopsOf(Workload("checksum")).Select(l => l.Trip is { } t ? $"pc {t.Pc}: {t.Moving} {(t.Inclusive ? "<=" : "<")} {t.Limit} step {t.Step}" : "none"));
        Assert.Null(Assert.Single(LoopsOf(Workload("strcmp"))).Trip);
    }

    [Fact]
    public void Loops_with_an_irregular_step_or_an_inner_loop_are_not_guarded_but_the_inner_loop_is()
    {
        // the index moves by 1 or 2 depending on the byte read
        var irregular = ProgramLoader.Load(Assembler.Assemble("mov r0, 0\nmov r3, 0\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\njeq r5, 1, +1\nadd r3, 1\nadd r3, 1\njne r5, 0, loop\nexit"));
        Assert.Empty(LoopsOf(irregular));

        // an outer loop over rows (r6 += 8) around an inner walk over a row (r3): only the inner loop (head 3) is guarded
        var nested = ProgramLoader.Load(Assembler.Assemble(
            "mov r0, 0\nmov r6, 0\nouter:\nmov r3, 0\ninner:\nmov r4, r1\nadd r4, r6\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\njlt r3, 8, inner\nadd r6, 8\njlt r6, r2, outer\nexit"));
        Assert.Equal(["head 3: pc 6 at r1 + r3 + r6 + 0 step 1"], LoopsOf(nested).Select(Describe));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_walk_to_a_zero_byte_runs_exactly_to_the_end_and_faults_one_byte_past_it(string engine)
    {
        using var compiled = Compile(engine, SumToZero);
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        foreach (int length in new[] { 1, 2, 4, 100, 4097 })
        {
            var ends = Bytes(length, zeroAt: length - 1);
            Assert.Equal(ExpectedSumToZero(ends, 4), Outcome(compiled, ends));
            var runsOff = Bytes(length);
            Assert.Equal($"fault at pc 4, input+{length}", Outcome(compiled, runsOff));
            Assert.Equal(ExpectedSumToZero(runsOff, 4), Outcome(compiled, runsOff));
        }

        Assert.Equal(4, Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run()).Pc);
    }

    /// <summary>
    /// Checked x64 code with a loop yields to the host every so many backward jumps, and its counting copy keeps its
    /// count as a limit for the yield count (held in rbp, or in xmm15 when the code keeps r10 in rbp). Walks that end
    /// or run off the input just before, at and just after the points where the code yields, and over several yields,
    /// must end exactly as the walk worked out here: a copy that went one arrival past its count would read the byte
    /// past the input without a check (no fault, or a fault elsewhere).
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Walks_that_cross_the_yield_points_of_checked_code_end_exactly_where_every_check_would(string engine)
    {
        // The second program names r10 (its frame register is then held in rbp, and the yield count in xmm15); load
        // at pc 4 in the first, pc 5 in the second.
        foreach (var (text, pc) in new[] { (SumToZero, 4), ("mov r6, r10\n" + SumToZero, 5) })
        {
            var program = ProgramLoader.Load(Assembler.Assemble(text));
            int interval = checked((int)HelperReturnAnalysis.Plan(program)!.YieldInterval);
            using var compiled = TestEngines.Get(engine).Compile(program);
            Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
            foreach (int length in new[] { interval - 2, interval - 1, interval, interval + 1, interval + 2, 2 * interval - 1, 2 * interval, 2 * interval + 1, (3 * interval) + 5 })
            {
                var ends = Bytes(length, zeroAt: length - 1);
                Assert.Equal(ExpectedSumToZero(ends, pc), Outcome(compiled, ends));
                var runsOff = Bytes(length);
                Assert.Equal($"fault at pc {pc}, input+{length}", Outcome(compiled, runsOff));
                var zeroEarly = Bytes(length, zeroAt: length / 2);
                Assert.Equal(ExpectedSumToZero(zeroEarly, pc), Outcome(compiled, zeroEarly));
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Walks_with_two_jumps_back_to_the_head_end_exactly_where_every_check_would_across_yield_points(string engine)
    {
        // Bytes above 200 go back to the head at once (pc 6), the others are summed first (pc 8): the copy's count is
        // tested at both jumps (on x64, where the yield count is in rbp), so either jump may be the one where it is
        // spent. Load at pc 4 in the first program, pc 5 in the second (which names r10).
        const string TwoBackEdges = "mov r0, 0\nmov r3, 0\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r3, 1\njgt r5, 200, loop\nadd r0, r5\njne r5, 0, loop\nexit";
        foreach (var (text, pc) in new[] { (TwoBackEdges, 4), ("mov r6, r10\n" + TwoBackEdges, 5) })
        {
            var program = ProgramLoader.Load(Assembler.Assemble(text));
            int interval = checked((int)HelperReturnAnalysis.Plan(program)!.YieldInterval);
            using var compiled = TestEngines.Get(engine).Compile(program);
            Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
            foreach (int length in new[] { 1, 2, interval - 2, interval - 1, interval, interval + 1, interval + 2, 2 * interval - 1, 2 * interval, 2 * interval + 1, (3 * interval) + 5 })
            {
                foreach (var input in new[] { Bytes(length, zeroAt: length - 1), Bytes(length), Bytes(length, zeroAt: length / 2) })
                {
                    Assert.Equal(Expected(input, pc), Outcome(compiled, input));
                }
            }
        }

        static string Expected(byte[] input, int pc)
        {
            ulong sum = 0;
            for (int i = 0; ; i++)
            {
                if (i >= input.Length)
                {
                    return $"fault at pc {pc}, input+{i}";
                }

                if (input[i] > 200)
                {
                    continue;
                }

                sum += input[i];
                if (input[i] == 0)
                {
                    return $"r0={sum} memory={Convert.ToHexString(input)}";
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_loop_that_goes_on_after_its_copy_count_is_spent_still_stops_at_the_run_time_limit(string engine)
    {
        // The load runs on the first four arrivals only; the guard counts eight (an 8-byte input), so the copy's count
        // is spent after eight arrivals and the checked loop goes round for ever. On x64 the copy's count rides on the
        // yield count: where it is spent the yield count must be given its true value back, or the loop never yields
        // again and the limit is never seen. The second program names r10 (yield count in xmm15 instead of rbp).
        const string Endless = "mov r0, 0\nmov r3, 0\nloop:\njge r3, 4, +3\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r3, 1\nja loop\nexit";
        var limit = TimeSpan.FromMilliseconds(200);
        foreach (var text in new[] { Endless, "mov r6, r10\n" + Endless })
        {
            using var compiled = Compile(engine, text, new ExecutionOptions { RunTimeLimit = limit });
            Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
            var memory = new byte[8];
            var run = Task.Factory.StartNew(() => compiled.Run(memory), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var ended = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(ended == run, "the run did not stop");
            var e = await Assert.ThrowsAsync<EbpfRunCancelledException>(() => run);
            Assert.True(e.RunTimeLimitExceeded);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_loop_that_never_leaves_its_copy_stops_at_the_run_time_limit_and_on_cancellation(string engine)
    {
        // The load's address does not move, so the guard lets the copy run for ever (count all ones). il's copy does not
        // poll at its jump back to the head: its head polls each time a slice of the count is spent (x64's copy rides
        // on its yield count). The stop is reported at an instruction of the loop (il: its backward jump, pc 3).
        const string Endless = "mov r0, 0\nloop:\nldxb r5, [r1+2]\nadd r0, r5\nja loop\nexit";
        using var compiled = Compile(engine, Endless, new ExecutionOptions { RunTimeLimit = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        var limited = await RunAsync(() => compiled.Run(new byte[8]));
        Assert.True(limited.RunTimeLimitExceeded);
        Assert.InRange(limited.Pc, 1, 3);

        using var cancellable = Compile(engine, Endless);
        using var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var cancelled = await RunAsync(() => cancellable.Run(new byte[8], source.Token));
        Assert.Equal(source.Token, cancelled.CancellationToken);
        Assert.InRange(cancelled.Pc, 1, 3);
        if (engine == IlEngine.EngineName)
        {
            Assert.Equal(3, limited.Pc);
            Assert.Equal(3, cancelled.Pc);
        }

        static async Task<EbpfRunCancelledException> RunAsync(Func<ulong> run)
        {
            var task = Task.Factory.StartNew(run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var ended = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(ended == task, "the run did not stop");
            return await Assert.ThrowsAsync<EbpfRunCancelledException>(() => task);
        }
    }

    [Fact]
    public void Il_counts_its_copy_in_slices_and_polls_only_where_a_slice_is_spent()
    {
        // The strcmp shape: the checked loop polls at its jump back (pc 6); the copy's jump back does not, its refill does.
        var engine = new IlEngine { RecordIlListing = true };
        using var compiled = (IlCompiledProgram)engine.Compile(ProgramLoader.Load(Assembler.Assemble(SumToZero)));
        string listing = compiled.IlListing!;
        string copy = listing[listing.IndexOf("unchecked copy of the loop at pc 2", StringComparison.Ordinal)..listing.IndexOf("REFILL_2:", StringComparison.Ordinal)];
        Assert.DoesNotContain("CancelRequested", copy, StringComparison.Ordinal);
        Assert.Contains("brfalse REFILL_2", copy, StringComparison.Ordinal);
        string refill = listing[listing.IndexOf("REFILL_2:", StringComparison.Ordinal)..];
        Assert.Contains("CancelRequested", refill[..refill.IndexOf("br COPY_2", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.Contains($"ldc.i4 {IlSlice(6)}", refill, StringComparison.Ordinal); // pcs 2-7
    }

    /// <summary>The slice of a loop of <paramref name="slots"/> slots, written from <c>LoopGuardEmitter</c>'s description (32,768 slots between polls).</summary>
    private static long IlSlice(int slots) => 32_768 / slots;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_walk_down_with_a_negative_step_faults_one_byte_before_the_input(string engine)
    {
        // from the last byte down to a zero byte; load at pc 5
        using var compiled = Compile(engine, "mov r0, 0\nmov r3, r2\nsub r3, 1\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, -1\njne r5, 0, loop\nexit");
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        foreach (int length in new[] { 1, 3, 64 })
        {
            var ends = Bytes(length, zeroAt: 0);
            Assert.Equal(ExpectedSumToZero(ends, 5, length - 1, -1), Outcome(compiled, ends));
            Assert.Equal("fault at pc 5, input-1", Outcome(compiled, Bytes(length)));
        }

        Assert.Equal(5, Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run()).Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_index_that_wraps_around_2_to_the_64_is_followed_exactly(string engine)
    {
        // the index starts at 2^64 - 2 and the address is r1 + index + 2: input + 0 on the first iteration; load at pc 5
        using var compiled = Compile(engine, "mov r0, 0\nlddw r3, 0xfffffffffffffffe\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4+2]\nadd r0, r5\nadd r3, 1\njne r5, 0, loop\nexit");
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        var ends = Bytes(10, zeroAt: 9);
        Assert.Equal(ExpectedSumToZero(ends, 5), Outcome(compiled, ends));
        Assert.Equal("fault at pc 5, input+10", Outcome(compiled, Bytes(10)));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_32_bit_index_is_not_guarded_and_wraps_as_32_bits(string engine)
    {
        // w3 starts at 2^32 - 1 and the address is r1 + r3 - (2^32 - 1): input + 0 first, then (w3 wrapped to 0)
        // input - (2^32 - 1). Load at pc 7.
        using var compiled = Compile(engine, "mov r0, 0\nmov32 r3, -1\nlddw r6, 0xffffffff\nloop:\nmov r4, r1\nadd r4, r3\nsub r4, r6\nldxb r5, [r4]\nadd r0, r5\nadd32 r3, 1\njne r5, 0, loop\nexit");
        Assert.Equal((0, 0, 0), GuardStatistics(compiled));
        Assert.Equal($"fault at pc 7, input-{0xffffffffL}", Outcome(compiled, [3, 4]));
        Assert.Equal("r0=0 memory=0004", Outcome(compiled, [0, 4]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_whose_length_register_grows_inside_runs_off_the_end_where_the_model_says(string engine)
    {
        // n = len / 2; do { b = mem[i]; sum += b; if (b != 0) n++; i++; } while (i < n): load at pc 6
        using var compiled = Compile(engine, "mov r0, 0\nmov r3, 0\nmov r7, r2\nrsh r7, 1\nloop:\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\njeq r5, 0, +1\nadd r7, 1\nadd r3, 1\njlt r3, r7, loop\nexit");
        Assert.Equal(Guards(engine) ? (1, 1, 0) : (0, 0, 0), GuardStatistics(compiled));
        foreach (var input in new[] { Bytes(8), Bytes(8, zeroAt: 2), Bytes(30, zeroAt: 20), new byte[12], Bytes(1) })
        {
            ulong sum = 0;
            long n = input.Length / 2, i = 0;
            string expected;
            while (true)
            {
                if (i >= input.Length)
                {
                    expected = $"fault at pc 6, input+{i}";
                    break;
                }

                sum += input[i];
                n += input[i] != 0 ? 1 : 0;
                if (++i >= n)
                {
                    expected = $"r0={sum} memory={Convert.ToHexString(input)}";
                    break;
                }
            }

            Assert.Equal(expected, Outcome(compiled, input));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_copy_of_the_index_is_guarded_only_when_it_equals_the_index_on_entry(string engine)
    {
        // clang's shape: r3 = r9 after r9 += 2; 16-bit reads at r1 + r3 while r3 < len (the last one crosses the end
        // when len is odd); r9 starts at 0 (r3 and r9 agree) or 1 (they do not: the guard sends the run to the
        // checked loop). Load at pc 5.
        foreach (int start in new[] { 0, 1 })
        {
            using var compiled = Compile(engine, $"mov r0, 0\nmov r3, 0\nmov r9, {start}\nloop:\nmov r4, r1\nadd r4, r3\nldxh r5, [r4]\nadd r0, r5\nadd r9, 2\nmov r3, r9\njlt r3, r2, loop\nexit");
            Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(compiled));
            foreach (int length in new[] { 2, 7, 10, 33 })
            {
                var input = Bytes(length);
                ulong sum = 0;
                string expected = "";
                for (long i = 0; ; i = i == 0 ? start + 2 : i + 2)
                {
                    if (i + 2 > length)
                    {
                        expected = $"fault at pc 5, input+{i}";
                        break;
                    }

                    sum += (ulong)(input[i] | (input[i + 1] << 8));
                    if ((i == 0 ? start + 2 : i + 2) >= length)
                    {
                        expected = $"r0={sum} memory={Convert.ToHexString(input)}";
                        break;
                    }
                }

                Assert.Equal(expected, Outcome(compiled, input));
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Strided_stack_stores_past_the_frame_fault_at_the_store(string engine)
    {
        // n = input[0]; for (i = 0; i < n; i++) ((u64 *)(r10 - 64))[i] = i; r0 = the last slot. Store at pc 6.
        // fp-8 is written only by the unbounded loop (an error for the analysis, as for the kernel): structural verification
        using var compiled = Compile(engine, "ldxb r7, [r1]\nmov r3, 0\nmov r0, 0\nloop:\nmov r4, r3\nlsh r4, 3\nadd r4, r10\nstxdw [r4-64], r3\nadd r3, 1\njlt r3, r7, loop\nldxdw r0, [r10-8]\nexit", new ExecutionOptions { Verification = VerificationMode.Structural });
        Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(compiled));
        Assert.Equal("r0=7 memory=08", Outcome(compiled, [8]));
        Assert.Equal("r0=0 memory=03", Outcome(compiled, [3]));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run([9]));
        Assert.Equal(6, e.Pc);
        Assert.Equal(MemoryAccessKind.Write, e.Access);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_that_changes_its_base_on_some_paths_or_calls_a_helper_is_not_guarded(string engine)
    {
        // the base r6 moves by the byte read when it is 9: no exact form on every path, so no guard. Load at pc 5.
        using var moved = Compile(engine, "mov r0, 0\nmov r3, 0\nmov r6, r1\nloop:\nmov r4, r6\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\njne r5, 9, +1\nadd r6, r5\nadd r3, 1\njne r5, 0, loop\nexit");
        Assert.Equal((0, 0, 0), GuardStatistics(moved));
        foreach (var input in new[] { new byte[] { 5, 0 }, [9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0], [9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] })
        {
            ulong sum = 0;
            long moveBy = 0;
            string expected;
            for (long i = 0; ; i++)
            {
                if (moveBy + i >= input.Length)
                {
                    expected = $"fault at pc 5, input+{moveBy + i}";
                    break;
                }

                byte b = input[moveBy + i];
                sum += b;
                moveBy += b == 9 ? 9 : 0;
                if (b == 0)
                {
                    expected = $"r0={sum} memory={Convert.ToHexString(input)}";
                    break;
                }
            }

            Assert.Equal(expected, Outcome(moved, input));
        }

        // a local call in the loop (index, sum and base in r6-r8, which calls keep). Load at pc 5.
        using var calls = Compile(engine, "mov r6, 0\nmov r7, 0\nmov r8, r1\nloop:\nmov r4, r8\nadd r4, r7\nldxb r1, [r4]\ncall local +5\nadd r6, r0\nadd r7, 1\njne r0, 0, loop\nmov r0, r6\nexit\nmov r0, r1\nexit");
        Assert.Equal((0, 0, 0), GuardStatistics(calls));
        Assert.Equal("r0=3 memory=010200", Outcome(calls, [1, 2, 0]));
        Assert.Equal("fault at pc 5, input+2", Outcome(calls, [1, 2]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_strcmp_and_checksum_loops_are_guarded_and_end_as_with_every_check(string engine)
    {
        var strcmp = Workload("strcmp");
        var checksum = Workload("checksum");
        var memcpy = Workload("memcpy");
        var random = new Random(13);
        var strings = new List<byte[]> { Bytes(64), Bytes(64, zeroAt: 63), Bytes(4096, zeroAt: 2047) };
        var equal = Bytes(4096, zeroAt: 2047);
        Array.Copy(equal, 0, equal, 2048, 2048);
        strings.Add(equal);
        var packets = new List<byte[]>();
        for (int i = 0; i < 20; i++)
        {
            var packet = new byte[random.Next(30, 200)];
            random.NextBytes(packet);
            packet[0] = (byte)(0x40 | random.Next(16));
            int total = random.Next(0, packet.Length + 20);
            packet[2] = (byte)(total >> 8);
            packet[3] = (byte)total;
            packets.Add(packet);
        }

        foreach (var (program, inputs, expected) in new[] { (strcmp, strings, (1, 2, 0)), (checksum, packets, (2, 4, 2)), (memcpy, packets, (0, 0, 0)) })
        {
            using var guarded = TestEngines.Get(engine).Compile(program);
            Assert.Equal(Guards(engine) ? expected : (0, 0, 0), GuardStatistics(guarded));
            ICompiledProgram forced;
            using (CheckPlan.ForceChecks())
            {
                forced = TestEngines.Get(engine).Compile(program);
            }

            using (forced)
            {
                Assert.Equal((0, 0, 0), GuardStatistics(forced));
                foreach (var input in inputs)
                {
                    Assert.Equal(Outcome(forced, input), Outcome(guarded, input));
                }
            }
        }
    }

    /// <summary>
    /// The soundness property of loop guards: generated loop programs (<see cref="ProgramGenerator.Loops"/>) end the
    /// same way (r0 and memory, or the error kind and pc) with the guards and proofs used as with every check forced on
    /// (<see cref="DifferentialRunner.CheckProofUse"/>, which also runs the compilation without checks after a clean
    /// run); the family must give guarded loops that end normally, fault and run out of budget.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Generated_loops_end_the_same_with_guards_as_with_every_check(string engine)
    {
        const int Programs = 400;
        var runner = new DifferentialRunner([TestEngines.Get(engine)]) { CheckProofUse = true };
        var cases = GeneratedCases.Loops(2026_12_02);
        var outcomes = new Dictionary<string, int>();
        int guardedPrograms = 0, compiledGuards = 0, wholeRangePrograms = 0, compiledWholeRange = 0;
        for (int i = 0; i < Programs; i++)
        {
            var generated = cases(i);
            var verdict = runner.Compare(generated);
            Assert.True(verdict.Mismatch is null, $"program {i}: {verdict.Mismatch}\nreference: {verdict.Reference}\n{generated.Description}");
            var loops = CheckPlan.Create(generated.Program, generated.Environment, generated.Options).Loops;
            if (loops.GuardedAccessCount == 0)
            {
                continue;
            }

            guardedPrograms++;
            wholeRangePrograms += loops.Loops.Any(l => l.Trip is not null) ? 1 : 0;
            string kind = verdict.Reference.StartsWith("r0=", StringComparison.Ordinal) ? "r0" : verdict.Reference.Split(' ')[0];
            outcomes[kind] = outcomes.GetValueOrDefault(kind) + 1;
            if (Guards(engine))
            {
                using var compiled = TestEngines.Get(engine).Compile(generated.Program, generated.Environment, generated.Options);
                compiledGuards += GuardStatistics(compiled).Loops;
                compiledWholeRange += GuardStatistics(compiled).WholeRange;
            }
        }

        string summary = $"{guardedPrograms} guarded programs ({wholeRangePrograms} with a trip bound): {string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"))}";
        Assert.True(wholeRangePrograms > Programs / 8 && wholeRangePrograms < guardedPrograms, summary);
        Assert.Equal(Guards(engine) ? wholeRangePrograms : 0, compiledWholeRange);
        Assert.True(guardedPrograms > Programs / 3, summary);
        Assert.True(outcomes.GetValueOrDefault("r0") > 20, summary);
        Assert.True(outcomes.GetValueOrDefault(nameof(RuntimeErrorKind.MemoryAccessViolation)) > 20, summary);
        Assert.True(outcomes.GetValueOrDefault(nameof(RuntimeErrorKind.BudgetExceeded)) > 5, summary);
        Assert.Equal(Guards(engine) ? guardedPrograms : 0, compiledGuards);
    }
}
