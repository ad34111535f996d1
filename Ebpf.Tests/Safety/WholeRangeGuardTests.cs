using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Il;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The whole-range form of loop guards (<see cref="TripBound"/>): a loop whose exit test bounds how often it goes round
/// runs, when the guard finds on entry that every access of every iteration that bound allows is in range, as an
/// unchecked copy with no per-iteration count. Off-by-one at both ends of the input, bounds and indices near 2^64 and
/// 2^63, lengths 0, 1, 2, 4096 and 4097, steps up and down, unsigned, signed and inequality tests, moving bases, all
/// with the outcome worked out here (the sum of the bytes read, or the fault's pc and address).
/// </summary>
public class WholeRangeGuardTests
{
    private static readonly int[] Lengths = [0, 1, 2, 4096, 4097];

    private static bool Guards(string engine) => engine is IlEngine.EngineName or X64Engine.EngineName;

    private static (int Loops, int Accesses, int WholeRange) GuardStatistics(ICompiledProgram compiled) =>
        compiled is ILoopGuardStatistics s ? (s.GuardedLoops, s.GuardedAccesses, s.WholeRangeLoops) : (0, 0, 0);

    /// <summary>
    /// A do-while loop: <c>i = start; do { sum += *(u8/u32 *)(r1 + i + offset); i += step; } while (i OP bound);</c>
    /// where start and bound are each either <c>len + k</c> or a constant. The load is at pc 7.
    /// </summary>
    /// <param name="Start">The index on entry (a constant, or added to len when <paramref name="StartFromLength"/>).</param>
    /// <param name="StartFromLength">The start is len + <paramref name="Start"/>.</param>
    /// <param name="Step">The index step.</param>
    /// <param name="Offset">The load's offset.</param>
    /// <param name="Bound">The bound (a constant, or added to len when <paramref name="BoundFromLength"/>).</param>
    /// <param name="BoundFromLength">The bound is len + <paramref name="Bound"/>.</param>
    /// <param name="Jump">The loop's test: jlt, jle, jslt, jsle, jgt, jge, jsgt, jsge or jne.</param>
    /// <param name="Size">The load size, 1 or 4.</param>
    public sealed record BoundedLoop(long Start, bool StartFromLength, long Step, short Offset, long Bound, bool BoundFromLength, string Jump, int Size = 1)
    {
        /// <summary>The program.</summary>
        public string Text
        {
            get
            {
                string start = StartFromLength ? $"mov r3, r2\nadd r3, {Start}" : $"lddw r3, 0x{(ulong)Start:x}";
                string bound = BoundFromLength ? $"mov r7, r2\nadd r7, {Bound}" : $"lddw r7, 0x{(ulong)Bound:x}";
                string load = Size == 1 ? "ldxb" : "ldxw";
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"mov r0, 0\n{start}\n{bound}\nloop:\nmov r4, r1\nadd r4, r3\n{load} r5, [r4{Offset:+0;-0;+0}]\nadd r0, r5\nadd r3, {Step}\n{Jump} r3, r7, loop\nexit");
            }
        }

        /// <summary>Whether the loop has a trip bound (an inequality test needs a step of 1 or -1).</summary>
        public bool Bounded => Jump != "jne" || Math.Abs(Step) == 1;

        /// <summary>The outcome on <paramref name="input"/>, worked out step by step (64-bit wrapping arithmetic).</summary>
        public string Expected(byte[] input)
        {
            ulong length = (ulong)input.Length;
            ulong i = unchecked(StartFromLength ? length + (ulong)Start : (ulong)Start);
            ulong n = unchecked(BoundFromLength ? length + (ulong)Bound : (ulong)Bound);
            ulong sum = 0;
            while (true)
            {
                ulong at = unchecked(i + (ulong)(long)Offset);
                if (at >= length || length - at < (ulong)Size)
                {
                    return Fault(7, at, input.Length);
                }

                sum += Size == 1 ? input[at] : BitConverter.ToUInt32(input, (int)at);
                i = unchecked(i + (ulong)Step);
                if (!Stays(Jump, i, n))
                {
                    return $"r0={sum}";
                }
            }
        }

        /// <inheritdoc />
        public override string ToString() => Text.Replace('\n', ';');
    }

    private static bool Stays(string jump, ulong a, ulong b) => jump switch
    {
        "jlt" => a < b,
        "jle" => a <= b,
        "jgt" => a > b,
        "jge" => a >= b,
        "jslt" => (long)a < (long)b,
        "jsle" => (long)a <= (long)b,
        "jsgt" => (long)a > (long)b,
        "jsge" => (long)a >= (long)b,
        "jne" => a != b,
        _ => throw new ArgumentException(jump, nameof(jump)),
    };

    /// <summary>A fault at <paramref name="pc"/>, with its address relative to the input when the input is not empty.</summary>
    private static string Fault(int pc, ulong at, int length) =>
        length == 0 ? $"fault at pc {pc}" : $"fault at pc {pc}, input{unchecked((long)at):+0;-0;+0}";

    /// <summary>r0, or the fault's pc and its address relative to the input (left out for an empty input).</summary>
    private static string Outcome(ICompiledProgram compiled, byte[] input)
    {
        var memory = GC.AllocateArray<byte>(input.Length, pinned: true);
        input.CopyTo(memory);
        try
        {
            return $"r0={compiled.Run(memory)}";
        }
        catch (EbpfMemoryAccessException e)
        {
            if (input.Length == 0)
            {
                return $"fault at pc {e.Pc}";
            }

            ulong start = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(memory, 0);
            return Fault(e.Pc, unchecked(e.Address - start), input.Length);
        }
    }

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(1 + (i * 7 % 250));
        }

        return bytes;
    }

    // Structural verification: some loops read before the input on their first iteration (refuted), and what is
    // tested is how the guarded and checked code stop them.
    private static ICompiledProgram Compile(string engine, string text) =>
        TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(text)), options: new ExecutionOptions { Verification = VerificationMode.Structural });

    /// <summary>The loops: each comment says what its edge is.</summary>
    public static TheoryData<string, BoundedLoop> Cases()
    {
        const long Max = -1; // 2^64 - 1
        var loops = new BoundedLoop[]
        {
            new(0, false, 1, 0, 0, true, "jlt"),              // i < len: the last byte exactly
            new(0, false, 1, 0, 1, true, "jlt"),              // i < len + 1: one byte past the end
            new(0, false, 1, 0, -1, true, "jlt"),             // i < len - 1: one byte short (and len - 1 wraps for len 0)
            new(0, false, 1, 0, -1, true, "jle"),             // i <= len - 1: the last byte exactly
            new(0, false, 1, 0, 0, true, "jle"),              // i <= len: one past
            new(1, false, 1, -1, 1, true, "jlt"),             // reads i - 1 for i in [1, len]: the first byte exactly
            new(0, false, 1, -1, 0, true, "jlt"),             // reads i - 1 from i = 0: one byte before the input
            new(0, false, 2, 0, 0, true, "jlt"),              // step 2, even offsets
            new(0, false, 2, 1, 0, true, "jlt"),              // step 2, odd offsets: past the end when len is odd
            new(0, false, 3, 0, 0, true, "jlt"),              // step 3: a division in the guard
            new(0, false, 4, 0, 0, true, "jlt", Size: 4),     // 4-byte reads: the last one crosses the end unless len % 4 == 0
            new(0, false, 3, 0, Max, false, "jlt"),           // bound 2^64 - 1 with step 3: i could wrap, so no whole range
            new(0, false, 1, 0, Max, false, "jle"),           // i <= 2^64 - 1 never fails: runs off the end
            new(-2, false, 1, 2, -2, true, "jlt"),            // i starts at 2^64 - 2 (above any bound): one iteration
            new(-3, false, 1, 3, -3, true, "jslt"),           // signed: i from -3 to len - 4, reads 0 to len - 1
            new(-3, false, 1, 3, -2, true, "jslt"),           // signed, one past the end
            new(-3, false, 1, 3, -3, true, "jlt"),            // the same unsigned: -3 is above len - 3, one iteration
            new(long.MaxValue - 1, false, 1, 0, long.MinValue + 2, false, "jslt"), // signed bound across 2^63: one iteration
            new(long.MaxValue - 1, false, 1, 0, long.MinValue + 2, false, "jlt"),  // unsigned across 2^63: runs off the end
            new(-1, true, -1, 0, 0, false, "jgt"),            // down from len - 1 while i > 0: stops at byte 1
            new(-1, true, -1, 0, -1, false, "jsgt"),          // down while i > -1: the first byte exactly
            new(-1, true, -1, 0, -2, false, "jsgt"),          // down while i > -2: one byte before the input
            new(-1, true, -1, 0, 0, false, "jsge"),           // down while i >= 0: the first byte exactly
            new(-1, true, -1, 0, 0, false, "jge"),            // down while i >= 0 unsigned: never fails, runs off the start
            new(-2, true, -2, 1, 0, false, "jsge"),           // down by 2, reading i + 1
            new(0, false, 1, 0, 0, true, "jne"),              // i != len: the last byte exactly
            new(0, false, 1, 0, 1, true, "jne"),              // i != len + 1: one past
            new(-1, true, -1, 0, -1, false, "jne"),           // down, i != -1: the first byte exactly
            new(-1, true, -1, 0, -2, false, "jne"),           // down, i != -2: one before
            new(0, false, 2, 0, 1, true, "jne"),              // step 2, i != len + 1: exact only for odd len, else runs off
        };

        var data = new TheoryData<string, BoundedLoop>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var loop in loops)
            {
                data.Add(engine.Name, loop);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bounded_loops_end_as_worked_out_at_every_length(string engine, BoundedLoop loop)
    {
        using var compiled = Compile(engine, loop.Text);
        Assert.Equal(Guards(engine) ? (1, 1, loop.Bounded ? 1 : 0) : (0, 0, 0), GuardStatistics(compiled));
        foreach (int length in Lengths)
        {
            var input = Bytes(length);
            Assert.Equal(loop.Expected(input), Outcome(compiled, input));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_tested_at_its_head_reads_exactly_to_its_bound(string engine)
    {
        // while (i < len + k) { sum += mem[i]; i++; }: the test at the head, before the load (pc 9); the bound goes through
        // two shifts, so the analysis loses its relation to len and the load keeps its check
        foreach (int k in new[] { -1, 0, 1 })
        {
            using var compiled = Compile(engine, $"mov r0, 0\nmov r3, 0\nmov r7, r2\nlsh r7, 8\nrsh r7, 8\nadd r7, {k}\nloop:\njge r3, r7, done\nmov r4, r1\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\nja loop\ndone:\nexit");
            Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(compiled));
            foreach (int length in Lengths)
            {
                var input = Bytes(length);
                long n = length + k;
                string expected = n > length ? Fault(9, (ulong)length, length) : $"r0={input.Take((int)Math.Max(0, n)).Sum(b => (long)b)}";
                if (length == 0 && k == -1)
                {
                    // len - 1 wraps to 2^64 - 1: the loop runs off the (empty) input at once
                    expected = Fault(9, 0, 0);
                }

                Assert.Equal(expected, Outcome(compiled, input));
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Moving_bases_are_followed(string engine)
    {
        // a pointer walk: p = r1; end = r1 + len + k; do { sum += *p; p++; } while (p < end). Load at pc 5.
        foreach (int k in new[] { -1, 0, 1 })
        {
            using var walk = Compile(engine, $"mov r0, 0\nmov r6, r1\nmov r7, r1\nadd r7, r2\nadd r7, {k}\nldxb r5, [r6]\nadd r0, r5\nadd r6, 1\njlt r6, r7, -4\nexit");
            Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(walk));
            foreach (int length in Lengths)
            {
                var input = Bytes(length);
                long reads = Math.Max(1, length + k);
                string expected = reads > length ? Fault(5, (ulong)length, length) : $"r0={input.Take((int)reads).Sum(b => (long)b)}";
                Assert.Equal(expected, Outcome(walk, input));
            }
        }

        // the base and the index both move by 1 (the address by 2); the bound is on the index: reads 0, 2, 4, ... while
        // i < (len + k) / 2. Load at pc 8.
        foreach (int k in new[] { 0, 1, 2 })
        {
            using var both = Compile(engine, $"mov r0, 0\nmov r3, 0\nmov r6, r1\nmov r7, r2\nadd r7, {k}\nrsh r7, 1\nmov r4, r6\nadd r4, r3\nldxb r5, [r4]\nadd r0, r5\nadd r3, 1\nadd r6, 1\njlt r3, r7, -7\nexit");
            Assert.Equal(Guards(engine) ? (1, 1, 1) : (0, 0, 0), GuardStatistics(both));
            foreach (int length in Lengths)
            {
                var input = Bytes(length);
                long iterations = Math.Max(1, (length + k) / 2);
                string expected = (2 * (iterations - 1)) >= length
                    ? Fault(8, (ulong)(2 * (length / 2 + (length % 2 == 0 ? 0 : 1))), length)
                    : $"r0={Enumerable.Range(0, (int)iterations).Sum(j => (long)input[2 * j])}";
                Assert.Equal(expected, Outcome(both, input));
            }
        }
    }

    [Fact]
    public void The_stays_of_a_trip_bound_match_a_step_by_step_count()
    {
        // Every shape of TripBound against counting the iterations one by one, on values near 0, 2^63 and 2^64.
        ulong[] values = [0, 1, 2, 3, 5, 9, 100, (1UL << 63) - 2, (1UL << 63) - 1, 1UL << 63, (1UL << 63) + 1, ulong.MaxValue - 4, ulong.MaxValue - 1, ulong.MaxValue];
        var moving = LinearForm.Register(3);
        var limit = LinearForm.Register(7);
        foreach (long step in new long[] { 1, 2, 3, 4, 7 })
        {
            foreach (var (mask, inclusive) in new[] { (0UL, false), (0UL, true), (~0UL, false), (~0UL, true), (1UL << 63, false), (1UL << 63, true), (~(1UL << 63), false), (~(1UL << 63), true) })
            {
                var trip = new TripBound(0, moving, limit, step, mask, inclusive, NotEqual: false);
                foreach (ulong u in values)
                {
                    foreach (ulong v in values)
                    {
                        ulong stays = trip.Stays(u, v);
                        if (stays == ulong.MaxValue)
                        {
                            continue;
                        }

                        // The masked value walks up by the step without wrapping: in for the first `stays` values, out after.
                        BigInteger x = u ^ mask, y = v ^ mask;
                        BigInteger last = x + ((BigInteger)stays * step);
                        Assert.True(last <= ulong.MaxValue, $"step {step} mask {mask:x} u {u} v {v}: wraps");
                        if (stays > 0)
                        {
                            BigInteger before = last - step;
                            Assert.True(inclusive ? before <= y : before < y, $"step {step} mask {mask:x} u {u} v {v}: out before {stays}");
                        }

                        Assert.False(inclusive ? last <= y : last < y, $"step {step} mask {mask:x} u {u} v {v}: still in after {stays}");
                    }
                }
            }
        }

        var notEqual = new TripBound(0, moving, limit, 1, 0, Inclusive: false, NotEqual: true);
        Assert.Equal(5UL, notEqual.Stays(3, 8));
        Assert.Equal(ulong.MaxValue, notEqual.Stays(1, 0));
        Assert.Equal(0UL, notEqual.Stays(4, 4));
    }
}
