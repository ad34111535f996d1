using System.Buffers.Binary;
using Ebpf.Assembly;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// Address arithmetic as clang emits it (<c>mov d, s; add d, t|imm</c>, then a load through <c>d</c>), which the x64
/// engine translates as one addressing mode, with memory checks on and off: the loaded values, the address a failing
/// access reports, and sequences that must not be merged (a jump lands inside them). The sum may also be taken by a load
/// or store a few instructions on (x64 leaves the arithmetic out): the instructions between, the induction variable's
/// increment among them, and the cases where the arithmetic must stay (the sum read or kept, a register of it
/// overwritten, a displacement past 32 bits).
/// </summary>
public class AddressArithmeticTests
{
    /// <summary>The 16-byte input: bytes 0..15.</summary>
    private static byte[] Input() => Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();

    public static TheoryData<string, bool> EnginesWithAndWithoutChecks()
    {
        var data = new TheoryData<string, bool>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, true);
            data.Add(engine.Name, false);
        }

        return data;
    }

    private static ulong Run(string engine, bool checks, string source, byte[] input)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { MemoryChecks = checks, Verification = VerificationMode.Structural });
        return compiled.Run(input);
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void Loads_through_a_sum_read_the_bytes_at_that_sum(string engine, bool checks)
    {
        // r1 + 4 + 2: the four bytes 6..9, little-endian.
        Assert.Equal(0x09080706UL, Run(engine, checks, "mov r3, r1\nadd r3, 4\nldxw r3, [r3+2]\nmov r0, r3\nexit", Input()));

        // r1 + r2 + 1 with r2 = 5: byte 6; and the sum kept in another register when the load goes elsewhere.
        Assert.Equal(6UL, Run(engine, checks, "mov r2, 5\nmov r3, r1\nadd r3, r2\nldxb r3, [r3+1]\nmov r0, r3\nexit", Input()));
        Assert.Equal(0x0b0aUL, Run(engine, checks, "mov r2, 10\nmov r3, r1\nadd r3, r2\nldxh r0, [r3]\nexit", Input()));

        // add d, d after the move doubles the source; a negative offset after a larger displacement.
        Assert.Equal(6UL, Run(engine, checks, "mov r2, 3\nmov r3, r2\nadd r3, r3\nmov r0, r3\nexit", Input()));
        Assert.Equal(0x0fUL, Run(engine, checks, "mov r3, r1\nadd r3, 16\nldxb r3, [r3-1]\nmov r0, r3\nexit", Input()));
        Assert.Equal(unchecked((ulong)(sbyte)0x8f), Run(engine, checks, "mov r3, r1\nadd r3, 15\nldxsb r3, [r3]\nmov r0, r3\nexit", [.. Input()[..15], 0x8f]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_load_through_a_sum_past_the_input_fails_at_the_load_with_the_sum_as_its_address(string engine)
    {
        var input = GC.AllocateArray<byte>(16, pinned: true);
        Input().CopyTo(input, 0);
        foreach (var (source, offset) in new[]
        {
            ("mov r2, 16\nmov r3, r1\nadd r3, r2\nldxb r3, [r3]\nexit", 16L),
            ("mov r2, 12\nmov r3, r1\nadd r3, r2\nldxdw r3, [r3+1]\nexit", 13L),
            ("mov r2, 0\nmov r3, r1\nadd r3, -1\nldxb r3, [r3]\nexit", -1L),
        })
        {
            var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
            using var compiled = TestEngines.Get(engine).Compile(program, options: TestPrograms.StructuralOnly);
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(input));
            Assert.Equal(3, e.Pc);
            Assert.Equal(MemoryAccessKind.Read, e.Access);
            unsafe
            {
                fixed (byte* start = input)
                {
                    // The array is pinned for its lifetime: the run saw this address too.
                    Assert.Equal((ulong)((long)start + offset), e.Address);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void A_jump_into_the_middle_of_the_arithmetic_sees_each_instruction_on_its_own(string engine, bool checks)
    {
        // The add (pc 2) is the target of the loop's backward jump: r3 = r1 + 1 + 1 + 1, then the load reads byte 3.
        const string source = """
            mov r4, 0
            mov r3, r1
            add r3, 1
            add r4, 1
            jlt r4, 3, -3
            ldxb r0, [r3]
            exit
            """;
        Assert.Equal(3UL, Run(engine, checks, source, Input()));
    }

    /// <summary>32 bytes, most with the top bit set: 0x81 + 13 i (mod 256).</summary>
    private static byte[] HighBytes() => Enumerable.Range(0, 32).Select(i => (byte)(0x81 + (13 * i))).ToArray();

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void An_access_a_few_instructions_after_the_sum_reads_and_writes_at_the_sum(string engine, bool checks)
    {
        var m = HighBytes();

        // Unrelated instructions between the sum and the load (a load among them).
        Assert.Equal(
            (ulong)m[6] + m[1] + 7,
            Run(engine, checks, "mov r2, 5\nmov r3, r1\nadd r3, r2\nmov r4, 7\nldxb r5, [r1+1]\nxor r0, r0\nldxb r0, [r3+1]\nadd r0, r5\nadd r0, r4\nexit", m));

        // clang's strcmp: the index moves on between the sum and the load, which reads at the old index (sign-extending
        // loads with the top bit set; an increment of -1; the sum's source register moved instead of its index).
        Assert.Equal(
            unchecked((ulong)BinaryPrimitives.ReadInt16LittleEndian(m.AsSpan(11)) + 10),
            Run(engine, checks, "mov r2, 9\nmov r3, r1\nadd r3, r2\nadd r2, 1\nldxsh r0, [r3+2]\nadd r0, r2\nexit", m));
        Assert.Equal(
            unchecked((ulong)BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan(4)) + 3),
            Run(engine, checks, "mov r2, 4\nmov r3, r1\nadd r3, r2\nadd r2, -1\nldxsw r0, [r3]\nadd r0, r2\nexit", m));
        Assert.Equal(
            unchecked((ulong)(sbyte)m[13]),
            Run(engine, checks, "mov r3, r1\nadd r3, 12\nadd r1, 3\nldxsb r0, [r3+1]\nexit", m));
        Assert.Equal(
            BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(8)),
            Run(engine, checks, "mov r3, r1\nadd r3, 12\nadd r1, 3\nadd r1, 5\nldxw r0, [r3-4]\nexit", m));

        // Stores: a register after an increment, an immediate.
        var stored = HighBytes();
        stored[4] = 0xff;
        stored[5] = 0xff;
        Assert.Equal(
            BinaryPrimitives.ReadUInt64LittleEndian(stored),
            Run(engine, checks, "mov r2, 3\nmov r3, r1\nadd r3, r2\nadd r2, 1\nmov r4, -1\nstxh [r3+1], r4\nldxdw r0, [r1]\nexit", HighBytes()));
        Assert.Equal(0x80UL, Run(engine, checks, "mov r3, r1\nadd r3, 16\nstb [r3-2], 0x80\nldxb r0, [r1+14]\nexit", HighBytes()));

        // Index registers at the edges: 2^32 - 1 and 2^63 (the sum wraps back into the input), 2^31 - 1 as the increment.
        Assert.Equal(
            m[3] + 0x1_0000_0000UL,
            Run(engine, checks, "lddw r2, 0xffffffff\nmov r5, r1\nsub r5, r2\nmov r3, r5\nadd r3, r2\nadd r2, 1\nldxb r0, [r3+3]\nadd r0, r2\nexit", m));
        Assert.Equal(
            m[0] + 0x7fff_ffff_ffff_ffffUL,
            Run(engine, checks, "lddw r2, 0x8000000000000000\nmov r5, r1\nsub r5, r2\nmov r3, r5\nadd r3, r2\nadd r2, -1\nldxb r0, [r3]\nadd r0, r2\nexit", m));
        Assert.Equal(
            m[2] + 0x7fff_ffffUL,
            Run(engine, checks, "mov r2, 0\nmov r3, r1\nadd r3, r2\nadd r2, 2147483647\nldxb r0, [r3+2]\nadd r0, r2\nexit", m));
    }

    [Theory]
    [MemberData(nameof(EnginesWithAndWithoutChecks))]
    public void The_arithmetic_stays_where_the_sum_is_used_or_changed_before_the_access(string engine, bool checks)
    {
        var m = HighBytes();

        // A register of the sum overwritten, or changed by a 32-bit add, between the sum and the load.
        Assert.Equal(m[4] + 20UL, Run(engine, checks, "mov r2, 4\nmov r3, r1\nadd r3, r2\nmov r2, 20\nldxb r0, [r3]\nadd r0, r2\nexit", m));
        Assert.Equal(m[4] + 5UL, Run(engine, checks, "mov r2, 4\nmov r3, r1\nadd r3, r2\nadd32 r2, 1\nldxb r0, [r3]\nadd r0, r2\nexit", m));

        // The sum read between, read after the load, or stored as the value.
        Assert.Equal(m[6] + 6UL, Run(engine, checks, "mov r3, r1\nadd r3, 6\nmov r4, r3\nldxb r0, [r3]\nsub r4, r1\nadd r0, r4\nexit", m));
        Assert.Equal(m[7] + 6UL, Run(engine, checks, "mov r3, r1\nadd r3, 6\nldxb r0, [r3+1]\nsub r3, r1\nadd r0, r3\nexit", m));
        Assert.Equal(8UL, Run(engine, checks, "mov r3, r1\nadd r3, 8\nstxdw [r3], r3\nldxdw r0, [r1+8]\nsub r0, r1\nexit", m));

        // Five instructions between (one more than the access may be apart), and a displacement past 32 bits:
        // 0 - (-2^31) + 2 after the increment.
        Assert.Equal(m[2] + 5UL, Run(engine, checks, "mov r3, r1\nadd r3, 2\nmov r4, 1\nmov r4, 2\nmov r4, 3\nmov r4, 4\nmov r4, 5\nldxb r0, [r3]\nadd r0, r4\nexit", m));
        Assert.Equal(
            m[2] + 0xffff_ffff_8000_0000UL,
            Run(engine, checks, "mov r2, 0\nmov r3, r1\nadd r3, r2\nadd r2, -2147483648\nldxb r0, [r3+2]\nadd r0, r2\nexit", m));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_access_through_a_sum_after_an_increment_fails_with_the_sum_as_its_address(string engine)
    {
        var input = GC.AllocateArray<byte>(16, pinned: true);
        var program = EbpfProgram.Create(
            Assembler.Assemble("mov r2, 15\nmov r3, r1\nadd r3, r2\nadd r2, 1\nldxh r0, [r3]\nexit"), StructuralOnlyVerifier.Instance);
        using var compiled = TestEngines.Get(engine).Compile(program);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(input));
        Assert.Equal(4, e.Pc);
        unsafe
        {
            fixed (byte* start = input)
            {
                Assert.Equal((ulong)start + 15, e.Address);
            }
        }
    }
}
