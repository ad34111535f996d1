using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// One row per <see cref="Operation"/> (more for the families whose 32-bit form differs): a small program in canonical
/// assembly and the r0 that RFC 9669 gives, run on every engine. A new operation fails
/// <see cref="Every_operation_has_a_row"/> until it gets its row here.
/// </summary>
public class OperationTableTests
{
    private const string Atomic = "stdw [r10-8], 0xc\nmov64 r1, 0xa\n";
    private const string AtomicResult = "ldxdw r0, [r10-8]\nexit";
    private const string FetchResult = "ldxdw r0, [r10-8]\nlsh64 r0, 0x8\nor64 r0, r1\nexit";
    private const string Value = "lddw r0, 0x1122334455667788\n";

    /// <summary>The input memory of the rows that read it.</summary>
    private static readonly byte[] Memory = [0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];

    private static readonly (Operation Operation, string Name, string Text, ulong Expected)[] Rows =
    [
        (Operation.Add, "add64", "mov64 r0, 0x7\nadd64 r0, 0x5\nexit", 12),
        (Operation.Add, "add32 wraps and zero-extends", "lddw r0, 0x1ffffffff\nadd32 r0, 0x1\nexit", 0),
        (Operation.Sub, "sub64", "mov64 r0, 0x3\nsub64 r0, 0x5\nexit", unchecked((ulong)-2L)),
        (Operation.Mul, "mul64 register", "mov64 r0, 0x6\nmov64 r1, 0x7\nmul64 r0, r1\nexit", 42),
        (Operation.Div, "div64", "mov64 r0, 0x7\ndiv64 r0, 0x2\nexit", 3),
        (Operation.Div, "div32 by zero", "mov64 r0, 0x7\nmov64 r1, 0x0\ndiv32 r0, r1\nexit", 0),
        (Operation.SDiv, "sdiv64", "mov64 r0, -0x7\nsdiv64 r0, 0x2\nexit", unchecked((ulong)-3L)),
        (Operation.SDiv, "sdiv32", "mov32 r0, -0x7\nsdiv32 r0, 0x2\nexit", 0xfffffffd),
        (Operation.Mod, "mod64", "mov64 r0, 0x7\nmod64 r0, 0x3\nexit", 1),
        (Operation.SMod, "smod64", "mov64 r0, -0x7\nsmod64 r0, 0x3\nexit", ulong.MaxValue),
        (Operation.Or, "or64", "mov64 r0, 0xf\nor64 r0, 0xf0\nexit", 0xff),
        (Operation.And, "and64", "mov64 r0, 0xff\nand64 r0, 0xf\nexit", 0xf),
        (Operation.Xor, "xor64", "mov64 r0, 0xff\nxor64 r0, 0xf\nexit", 0xf0),
        (Operation.Lsh, "lsh64", "mov64 r0, 0x1\nlsh64 r0, 0x4\nexit", 16),
        (Operation.Lsh, "lsh32 masks the count", "mov64 r0, 0x1\nmov64 r1, 0x21\nlsh32 r0, r1\nexit", 2),
        (Operation.Rsh, "rsh64", "mov64 r0, -0x1\nrsh64 r0, 0x3c\nexit", 0xf),
        (Operation.Arsh, "arsh64", "mov64 r0, -0x10\narsh64 r0, 0x2\nexit", unchecked((ulong)-4L)),
        (Operation.Arsh, "arsh32", "mov32 r0, -0x10\narsh32 r0, 0x2\nexit", 0xfffffffc),
        (Operation.Neg, "neg64", "mov64 r0, 0x5\nneg64 r0\nexit", unchecked((ulong)-5L)),
        (Operation.Neg, "neg32", "mov64 r0, 0x5\nneg32 r0\nexit", 0xfffffffb),
        (Operation.Mov, "mov32 zero-extends", "mov32 r0, -0x1\nexit", 0xffffffff),
        (Operation.Mov, "mov64 sign-extends", "mov64 r0, -0x1\nexit", ulong.MaxValue),
        (Operation.MovSx8, "movsx864", "mov64 r1, 0x80\nmovsx864 r0, r1\nexit", 0xffffffffffffff80),
        (Operation.MovSx16, "movsx1632", "mov64 r1, 0x18000\nmovsx1632 r0, r1\nexit", 0xffff8000),
        (Operation.MovSx32, "movsx3264", "lddw r1, 0x180000000\nmovsx3264 r0, r1\nexit", 0xffffffff80000000),
        (Operation.Le16, "le16", Value + "le16 r0\nexit", 0x7788),
        (Operation.Le32, "le32", Value + "le32 r0\nexit", 0x55667788),
        (Operation.Le64, "le64", Value + "le64 r0\nexit", 0x1122334455667788),
        (Operation.Be16, "be16", Value + "be16 r0\nexit", 0x8877),
        (Operation.Be32, "be32", Value + "be32 r0\nexit", 0x88776655),
        (Operation.Be64, "be64", Value + "be64 r0\nexit", 0x8877665544332211),
        (Operation.Bswap16, "bswap16", Value + "bswap16 r0\nexit", 0x8877),
        (Operation.Bswap32, "bswap32", Value + "bswap32 r0\nexit", 0x88776655),
        (Operation.Bswap64, "bswap64", Value + "bswap64 r0\nexit", 0x8877665544332211),
        (Operation.Ja, "ja", "mov64 r0, 0x1\nja +1\nmov64 r0, 0x2\nexit", 1),
        (Operation.Ja32, "ja32", "mov64 r0, 0x1\nja32 +1\nmov64 r0, 0x2\nexit", 1),
        (Operation.Jeq, "jeq taken", Jump("jeq r1, 0x5", "0x5"), 1),
        (Operation.Jeq, "jeq32 compares the low halves", Jump("jeq32 r1, 0x5", "0x100000005"), 1),
        (Operation.Jeq, "jeq not taken", Jump("jeq r1, 0x5", "0x6"), 0),
        (Operation.Jgt, "jgt unsigned", Jump("jgt r1, 0x1", "-0x1"), 1),
        (Operation.Jge, "jge", Jump("jge r1, 0x5", "0x5"), 1),
        (Operation.Jset, "jset", Jump("jset r1, 0x2", "0x6"), 1),
        (Operation.Jne, "jne register", Jump("mov64 r2, 0x6\njne r1, r2", "0x5"), 1),
        (Operation.Jsgt, "jsgt", Jump("jsgt r1, -0x1", "0x1"), 1),
        (Operation.Jsge, "jsge", Jump("jsge r1, -0x1", "-0x1"), 1),
        (Operation.Jlt, "jlt unsigned", Jump("jlt r1, -0x1", "0x1"), 1),
        (Operation.Jle, "jle", Jump("jle r1, 0x5", "0x5"), 1),
        (Operation.Jslt, "jslt", Jump("jslt r1, 0x1", "-0x1"), 1),
        (Operation.Jsle, "jsle32", Jump("jsle32 r1, -0x1", "-0x2"), 1),
        (Operation.CallHelper, "call", "mov64 r1, 0x29\ncall 7\nexit", 42),
        (Operation.CallLocal, "call local", "mov64 r0, 0x1\ncall local +2\nadd64 r0, 0x1\nexit\nmov64 r0, 0x29\nexit", 42),
        (Operation.CallX, "callx", "mov64 r1, 0x29\nmov64 r2, 0x7\ncallx r2\nexit", 42),
        (Operation.Exit, "exit", "mov64 r0, 0x9\nexit", 9),
        (Operation.Lddw, "lddw", Value + "exit", 0x1122334455667788),
        (Operation.LoadAbsolute, "ldabsb", "ldabsb 0x2\nexit", 0x02),
        (Operation.LoadIndirect, "ldindh", "mov64 r6, 0x1\nldindh r6, 0x2\nexit", 0x0403),
        (Operation.Load, "ldxw", "ldxw r0, [r1+4]\nexit", 0x07060504),
        (Operation.LoadSignExtend, "ldxsb", "ldxsb r0, [r1]\nexit", 0xffffffffffffff80),
        (Operation.Store, "stb", "stb [r10-1], 0x7f\nldxb r0, [r10-1]\nexit", 0x7f),
        (Operation.Store, "stxh", "mov64 r1, 0x12345\nstxh [r10-2], r1\nldxh r0, [r10-2]\nexit", 0x2345),
        (Operation.AtomicAdd, "lock add", Atomic + "lock add [r10-8], r1\n" + AtomicResult, 0x16),
        (Operation.AtomicAdd, "lock add32", Atomic + "lock add32 [r10-8], r1\n" + AtomicResult, 0x16),
        (Operation.AtomicOr, "lock or", Atomic + "lock or [r10-8], r1\n" + AtomicResult, 0x0e),
        (Operation.AtomicAnd, "lock and", Atomic + "lock and [r10-8], r1\n" + AtomicResult, 0x08),
        (Operation.AtomicXor, "lock xor", Atomic + "lock xor [r10-8], r1\n" + AtomicResult, 0x06),
        (Operation.AtomicFetchAdd, "lock fetch add", Atomic + "lock fetch add [r10-8], r1\n" + FetchResult, 0x160c),
        (Operation.AtomicFetchOr, "lock fetch or32", Atomic + "lock fetch or32 [r10-8], r1\n" + FetchResult, 0x0e0c),
        (Operation.AtomicFetchAnd, "lock fetch and", Atomic + "lock fetch and [r10-8], r1\n" + FetchResult, 0x080c),
        (Operation.AtomicFetchXor, "lock fetch xor", Atomic + "lock fetch xor [r10-8], r1\n" + FetchResult, 0x060c),
        (Operation.AtomicExchange, "lock xchg", Atomic + "lock xchg [r10-8], r1\n" + FetchResult, 0x0a0c),
        (Operation.AtomicCompareExchange, "lock cmpxchg", Atomic + "mov64 r0, 0xc\nlock cmpxchg [r10-8], r1\nmov64 r1, r0\n" + FetchResult, 0x0a0c),
        (Operation.AtomicCompareExchange, "lock cmpxchg32 mismatch", Atomic + "mov64 r0, 0xb\nlock cmpxchg32 [r10-8], r1\nmov64 r1, r0\n" + FetchResult, 0x0c0c),
    ];

    /// <summary>r0 = 1 when the jump is taken with r1 = <paramref name="r1"/>, else 0.</summary>
    private static string Jump(string jump, string r1) => $"mov64 r0, 0x0\nlddw r1, {r1}\n{jump}, +1\nexit\nmov64 r0, 0x1\nexit";

    public static TheoryData<string, string> EngineRows()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var row in Rows)
            {
                data.Add(engine.Name, row.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EngineRows))]
    public void Each_operation_gives_the_result_of_the_specification(string engine, string name)
    {
        var row = Rows.Single(r => r.Name == name);
        var program = ProgramLoader.Load(Assembler.Assemble(row.Text));
        Assert.Contains(program.Decoded, d => d.Operation == row.Operation);
        var environment = new ProgramEnvironment(new HelperTable().Add(7, "plus_one", (a, _, _, _, _) => a + 1));
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        Assert.Equal(row.Expected, compiled.Run(Memory.ToArray()));
    }

    [Fact]
    public void Every_operation_has_a_row()
    {
        var missing = Enum.GetValues<Operation>().Where(o => o != Operation.None && Rows.All(r => r.Operation != o)).ToArray();
        Assert.Empty(missing);
        Assert.Equal(Rows.Length, Rows.Select(r => r.Name).Distinct().Count());
    }
}
