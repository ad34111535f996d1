using Ebpf.Assembly;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Engines;

/// <summary>
/// Address arithmetic as clang emits it (<c>mov d, s; add d, t|imm</c>, then a load through <c>d</c>), which the x64
/// engine translates as one addressing mode, with memory checks on and off: the loaded values, the address a failing
/// access reports, and sequences that must not be merged (a jump lands inside them).
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
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { MemoryChecks = checks });
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
            using var compiled = TestEngines.Get(engine).Compile(program);
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
}
