using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Tests.Safety;

/// <summary>Range arithmetic and branch refinement against brute force over every signed interval of -6..6.</summary>
public class ScalarRangeTests
{
    private const int Low = -6;
    private const int High = 6;

    private static IEnumerable<ScalarRange> Ranges()
    {
        for (long lo = Low; lo <= High; lo++)
        {
            for (long hi = lo; hi <= High; hi++)
            {
                yield return ScalarRange.FromSigned(lo, hi);
            }
        }
    }

    private static IEnumerable<ulong> Members(ScalarRange r)
    {
        for (long x = Low; x <= High; x++)
        {
            if (r.Contains((ulong)x))
            {
                yield return (ulong)x;
            }
        }
    }

    public static TheoryData<string> Operations() => new() { "add", "sub", "mul", "and", "or", "xor", "div", "mod", "lsh", "rsh", "arsh", "join" };

    [Theory]
    [MemberData(nameof(Operations))]
    public void Operation_contains_every_concrete_result(string operation)
    {
        var ranges = Ranges().ToArray();
        foreach (var a in ranges)
        {
            foreach (var b in ranges)
            {
                var result = operation switch
                {
                    "add" => a.Add(b),
                    "sub" => a.Sub(b),
                    "mul" => a.Mul(b),
                    "and" => a.And(b),
                    "or" => a.Or(b),
                    "xor" => a.Xor(b),
                    "div" => a.Div(b),
                    "mod" => a.Mod(b),
                    "lsh" => a.ShiftLeft(b),
                    "rsh" => a.ShiftRight(b),
                    "arsh" => a.ShiftRightArithmetic(b),
                    _ => a.Join(b),
                };
                foreach (ulong x in Members(a))
                {
                    foreach (ulong y in Members(b))
                    {
                        ulong concrete = operation switch
                        {
                            "add" => x + y,
                            "sub" => x - y,
                            "mul" => x * y,
                            "and" => x & y,
                            "or" => x | y,
                            "xor" => x ^ y,
                            "div" => y == 0 ? 0 : x / y,
                            "mod" => y == 0 ? x : x % y,
                            "lsh" => x << (int)(y & 63),
                            "rsh" => x >> (int)(y & 63),
                            "arsh" => (ulong)((long)x >> (int)(y & 63)),
                            _ => y,
                        };
                        Assert.True(result.Contains(concrete), $"{a} {operation} {b} = {result} misses {(long)concrete} ({(long)x}, {(long)y})");
                    }
                }
            }
        }
    }

    [Fact]
    public void Truncation_and_sign_extension_contain_every_concrete_result()
    {
        var values = new ulong[] { 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff_ffff, 0x1_0000_0000, ulong.MaxValue, 0x8000_0000_0000_0000 };
        foreach (ulong lo in values)
        {
            foreach (ulong hi in values.Where(v => v >= lo))
            {
                var r = ScalarRange.FromUnsigned(lo, hi);
                foreach (ulong x in values.Where(v => v >= lo && v <= hi).Append(lo + ((hi - lo) / 2)))
                {
                    Assert.True(r.Truncate32().Contains(x & 0xffff_ffff));
                    Assert.True(r.SignExtend(8).Contains((ulong)(long)(sbyte)x));
                    Assert.True(r.SignExtend(16).Contains((ulong)(long)(short)x));
                    Assert.True(r.SignExtend(32).Contains((ulong)(long)(int)x));
                }
            }
        }
    }

    public static TheoryData<Operation, bool> Comparisons()
    {
        var data = new TheoryData<Operation, bool>();
        foreach (var op in new[] { Operation.Jeq, Operation.Jne, Operation.Jgt, Operation.Jge, Operation.Jlt, Operation.Jle, Operation.Jsgt, Operation.Jsge, Operation.Jslt, Operation.Jsle, Operation.Jset })
        {
            data.Add(op, false);
        }

        data.Add(Operation.Jset, true);
        return data;
    }

    [Theory]
    [MemberData(nameof(Comparisons))]
    public void Branch_refinement_keeps_every_pair_that_satisfies_the_comparison(Operation op, bool notSet)
    {
        var ranges = Ranges().ToArray();
        foreach (var a in ranges)
        {
            foreach (var b in ranges)
            {
                var refined = SafetyAnalyzer.RefineRanges(op, notSet, a, b);
                foreach (ulong x in Members(a))
                {
                    foreach (ulong y in Members(b))
                    {
                        bool holds = op switch
                        {
                            Operation.Jeq => x == y,
                            Operation.Jne => x != y,
                            Operation.Jgt => x > y,
                            Operation.Jge => x >= y,
                            Operation.Jlt => x < y,
                            Operation.Jle => x <= y,
                            Operation.Jsgt => (long)x > (long)y,
                            Operation.Jsge => (long)x >= (long)y,
                            Operation.Jslt => (long)x < (long)y,
                            Operation.Jsle => (long)x <= (long)y,
                            _ => notSet ? (x & y) == 0 : (x & y) != 0,
                        };
                        if (holds)
                        {
                            Assert.True(refined is { } r && r.A.Contains(x) && r.B.Contains(y), $"{a} {op} {b}: ({(long)x}, {(long)y}) lost: {refined}");
                        }
                    }
                }
            }
        }
    }
}
