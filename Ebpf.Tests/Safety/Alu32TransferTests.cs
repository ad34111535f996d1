using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The 32-bit ALU transfer functions (<see cref="Alu32Transfer"/>) against brute force: for operand ranges around the
/// places where 32-bit arithmetic wraps (0, 2^31, 2^32, 2^63, -1), every concrete result, computed here with C#'s
/// 32-bit arithmetic, lies in the abstract result (range and known bits); the result of two constants is that
/// constant; and where the operands' low halves are contiguous and the concrete results stay within 2^31 of each
/// other, the monotone operations give exactly their smallest and largest concrete result.
/// </summary>
public class Alu32TransferTests
{
    private static readonly ulong[] Starts =
        [0, 7, 0x7e, 0xff7e, 0x7fff_fffc, 0xffff_fffc, 0xffff_fffe, 0x1_0000_0005, 0x1_7fff_fffd, 0x7fff_ffff_ffff_fffe, 0xffff_ffff_ffff_fffa];

    private static readonly ulong[] Widths = [0, 2, 5];

    private static readonly ulong[] Counts = [0, 1, 4, 31, 32, 33, 63];

    private static IEnumerable<(ulong Lo, ulong Hi)> Ranges() =>
        from start in Starts from width in Widths where start + width >= start select (start, start + width);

    private static IEnumerable<(ulong Lo, ulong Hi)> CountRanges() =>
        Counts.Select(c => (c, c)).Concat([(1ul, 3ul), (30ul, 34ul)]);

    public static TheoryData<Operation> Operations() =>
    [
        Operation.Mov, Operation.Add, Operation.Sub, Operation.Neg, Operation.Mul, Operation.Div, Operation.Mod,
        Operation.Or, Operation.And, Operation.Xor, Operation.Lsh, Operation.Rsh, Operation.Arsh, Operation.MovSx8, Operation.MovSx16,
    ];

    /// <summary>What the machine computes: the low halves, 32-bit arithmetic, the result zero-extended.</summary>
    private static ulong Concrete(Operation op, ulong x, ulong y)
    {
        uint a = (uint)x, b = (uint)y;
        int count = (int)(b & 31);
        uint r = op switch
        {
            Operation.Mov => b,
            Operation.Add => unchecked(a + b),
            Operation.Sub => unchecked(a - b),
            Operation.Neg => unchecked(0u - a),
            Operation.Mul => unchecked(a * b),
            Operation.Div => b == 0 ? 0 : a / b,
            Operation.Mod => b == 0 ? a : a % b,
            Operation.Or => a | b,
            Operation.And => a & b,
            Operation.Xor => a ^ b,
            Operation.Lsh => a << count,
            Operation.Rsh => a >> count,
            Operation.Arsh => (uint)((int)a >> count),
            Operation.MovSx8 => (uint)(int)(sbyte)(byte)y,
            Operation.MovSx16 => (uint)(int)(short)(ushort)y,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
        return r;
    }

    private static bool IsShift(Operation op) => op is Operation.Lsh or Operation.Rsh or Operation.Arsh;

    [Theory]
    [MemberData(nameof(Operations))]
    public void Every_concrete_result_is_in_the_abstract_one(Operation op)
    {
        int checkedResults = 0;
        foreach (var (alo, ahi) in Ranges())
        {
            foreach (var (blo, bhi) in IsShift(op) ? CountRanges() : Ranges())
            {
                var result = Alu32Transfer.Apply(op, ScalarRange.FromUnsigned(alo, ahi), ScalarRange.FromUnsigned(blo, bhi));
                Assert.True(result.UMax <= uint.MaxValue, $"{op}: {result} is not zero-extended");
                for (ulong x = alo; x >= alo && x <= ahi; x++)
                {
                    for (ulong y = blo; y >= blo && y <= bhi; y++)
                    {
                        ulong concrete = Concrete(op, x, y);
                        Assert.True(result.Contains(concrete), $"{op} [{alo:x}, {ahi:x}], [{blo:x}, {bhi:x}]: 0x{concrete:x} (from 0x{x:x}, 0x{y:x}) not in {result}");
                        checkedResults++;
                    }
                }
            }
        }

        Assert.True(checkedResults > 1000);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public void Two_constants_give_their_result(Operation op)
    {
        foreach (var (x, _) in Ranges())
        {
            foreach (var (y, _) in IsShift(op) ? CountRanges() : Ranges())
            {
                var result = Alu32Transfer.Apply(op, ScalarRange.Constant(x), ScalarRange.Constant(y));
                ulong concrete = Concrete(op, x, y);
                Assert.True(result.IsConstant && result.UMin == concrete, $"{op} 0x{x:x}, 0x{y:x}: {result}, the machine gives 0x{concrete:x}");
            }
        }
    }

    [Theory]
    [InlineData(Operation.Mov)]
    [InlineData(Operation.Add)]
    [InlineData(Operation.Sub)]
    [InlineData(Operation.Neg)]
    [InlineData(Operation.Lsh)]
    [InlineData(Operation.Rsh)]
    [InlineData(Operation.Arsh)]
    public void Monotone_operations_without_wrap_around_are_exact(Operation op)
    {
        int exact = 0;
        foreach (var (alo, ahi) in Ranges())
        {
            foreach (var (blo, bhi) in IsShift(op) ? Counts.Select(c => (c, c)) : Ranges())
            {
                bool contiguous = alo >> 32 == ahi >> 32 && blo >> 32 == bhi >> 32;
                bool oneSign = ((alo >> 31) & 1) == ((ahi >> 31) & 1);
                if (!contiguous || (op == Operation.Arsh && !oneSign))
                {
                    continue;
                }

                var results = new List<ulong>();
                for (ulong x = alo; x >= alo && x <= ahi; x++)
                {
                    for (ulong y = blo; y >= blo && y <= bhi; y++)
                    {
                        results.Add(Concrete(op, x, y));
                    }
                }

                ulong min = results.Min(), max = results.Max();
                if (max - min >= 1ul << 31)
                {
                    continue; // the results wrap around: their unsigned range is the whole width
                }

                var result = Alu32Transfer.Apply(op, ScalarRange.FromUnsigned(alo, ahi), ScalarRange.FromUnsigned(blo, bhi));
                Assert.True(result.UMin == min && result.UMax == max, $"{op} [{alo:x}, {ahi:x}], [{blo:x}, {bhi:x}]: {result}, the machine gives [{min:x}, {max:x}]");
                exact++;
            }
        }

        Assert.True(exact >= 10);
    }
}
