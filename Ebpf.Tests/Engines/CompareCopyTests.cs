using System.Buffers.Binary;
using Ebpf.Assembly;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Engines;

/// <summary>
/// A copy that only a conditional jump reads (<c>mov r6, r2; ...; if w6 != w5</c>, clang's strcmp), which the x64
/// engine leaves out by comparing the source: on every engine, with memory checks on and off, 64- and 32-bit, signed
/// and unsigned compares over edge values (the outcomes worked out here), the copy on either side of the compare, and
/// the cases where the copy must stay (its source changed before the jump, the copy read where the jump lands).
/// </summary>
public class CompareCopyTests
{
    private static readonly ulong[] Values = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue];

    /// <summary>The compares, each with whether it jumps for (a, b).</summary>
    private static readonly (string Op, Func<ulong, ulong, bool> Taken)[] Compares =
    [
        ("jne32", (a, b) => (uint)a != (uint)b),
        ("jsgt", (a, b) => (long)a > (long)b),
        ("jslt32", (a, b) => (int)a < (int)b),
        ("jgt", (a, b) => a > b),
        ("jset", (a, b) => (a & b) != 0),
        ("jle32", (a, b) => (uint)a <= (uint)b),
    ];

    /// <summary>r2 = a and r5 = b from the input, then <paramref name="body"/>.</summary>
    private static ICompiledProgram Compile(string engine, bool checks, string body)
    {
        var program = EbpfProgram.Create(Assembler.Assemble("ldxdw r2, [r1]\nldxdw r5, [r1+8]\n" + body), StructuralOnlyVerifier.Instance);
        return TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { MemoryChecks = checks });
    }

    private static ulong Run(ICompiledProgram compiled, ulong a, ulong b)
    {
        var input = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(input, a);
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(8), b);
        return compiled.Run(input);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void A_compare_of_a_copy_compares_its_source(string engine, bool checks)
    {
        foreach (var (op, taken) in Compares)
        {
            // The copy compared first (with a 32-bit move of its source between), then second.
            using var first = Compile(engine, checks, $"mov r6, r2\nmov32 r4, r2\n{op} r6, r5, +2\nmov r0, r4\nexit\nmov r0, r4\nadd r0, 1000\nexit");
            using var second = Compile(engine, checks, $"mov r6, r5\n{op} r2, r6, +2\nmov r0, 1\nexit\nmov r0, 2\nexit");
            foreach (ulong a in Values)
            {
                foreach (ulong b in Values)
                {
                    bool jumps = taken(a, b);
                    Assert.Equal((uint)a + (jumps ? 1000UL : 0), Run(first, a, b));
                    Assert.Equal(jumps ? 2UL : 1UL, Run(second, a, b));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void The_copy_stays_when_its_source_changes_or_it_is_read_after_the_jump(string engine, bool checks)
    {
        foreach (var (op, taken) in Compares)
        {
            using var sourceChanged = Compile(engine, checks, $"mov r6, r2\nadd r2, 1\n{op} r6, r5, +2\nmov r0, r2\nexit\nmov r0, 7\nexit");
            using var readWhereItLands = Compile(engine, checks, $"mov r6, r2\n{op} r6, r5, +2\nmov r0, 1\nexit\nmov r0, r6\nexit");
            using var readAfter = Compile(engine, checks, $"mov r6, r2\n{op} r6, r5, +2\nmov r0, r6\nexit\nmov r0, 3\nexit");
            foreach (ulong a in Values)
            {
                foreach (ulong b in Values)
                {
                    bool jumps = taken(a, b);
                    Assert.Equal(jumps ? 7 : unchecked(a + 1), Run(sourceChanged, a, b));
                    Assert.Equal(jumps ? a : 1, Run(readWhereItLands, a, b));
                    Assert.Equal(jumps ? 3 : a, Run(readAfter, a, b));
                }
            }
        }
    }
}
