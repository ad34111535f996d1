using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>Tnum arithmetic against brute force: over every 4-bit tnum pair, the abstract result holds every concrete result.</summary>
public class TnumTests
{
    /// <summary>Every tnum over the low 4 bits (each bit 0, 1 or unknown; the upper bits known 0).</summary>
    private static IEnumerable<Tnum> Small()
    {
        for (ulong mask = 0; mask < 16; mask++)
        {
            for (ulong value = 0; value < 16; value++)
            {
                if ((value & mask) == 0)
                {
                    yield return new Tnum(value, mask);
                }
            }
        }
    }

    private static IEnumerable<ulong> Members(Tnum t)
    {
        for (ulong x = 0; x < 16; x++)
        {
            if (t.Contains(x))
            {
                yield return x;
            }
        }
    }

    public static TheoryData<string> BinaryOperations() => new() { "add", "sub", "and", "or", "xor", "mul", "union" };

    [Theory]
    [MemberData(nameof(BinaryOperations))]
    public void Binary_operation_contains_every_concrete_result(string operation)
    {
        var tnums = Small().ToArray();
        Assert.Equal(81, tnums.Length);
        foreach (var a in tnums)
        {
            foreach (var b in tnums)
            {
                var result = operation switch
                {
                    "add" => a.Add(b),
                    "sub" => a.Sub(b),
                    "and" => a.And(b),
                    "or" => a.Or(b),
                    "xor" => a.Xor(b),
                    "mul" => a.Mul(b),
                    _ => a.Union(b),
                };
                foreach (ulong x in Members(a))
                {
                    foreach (ulong y in Members(b))
                    {
                        ulong concrete = operation switch
                        {
                            "add" => x + y,
                            "sub" => x - y,
                            "and" => x & y,
                            "or" => x | y,
                            "xor" => x ^ y,
                            "mul" => x * y,
                            _ => x,
                        };
                        Assert.True(result.Contains(concrete), $"{a} {operation} {b} = {result} misses {concrete:x} ({x} and {y})");
                        if (operation == "union")
                        {
                            Assert.True(result.Contains(y));
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Shifts_contain_every_concrete_result()
    {
        foreach (var a in Small())
        {
            // also as a negative number: the 4 bits on top of 60 known ones, so arithmetic shifts see a sign
            var negative = new Tnum(a.Value | ~0xful, a.Mask);
            for (int k = 0; k < 64; k += 3)
            {
                foreach (ulong x in Members(a))
                {
                    Assert.True(a.ShiftLeft(k).Contains(x << k));
                    Assert.True(a.ShiftRight(k).Contains(x >> k));
                    Assert.True(negative.ShiftRightArithmetic(k).Contains((ulong)((long)(x | ~0xful) >> k)));
                }
            }
        }
    }

    [Fact]
    public void Known_operands_give_exact_results()
    {
        var a = Tnum.Constant(0x1234);
        var b = Tnum.Constant(0x0f0f);
        Assert.Equal(Tnum.Constant(0x1234 + 0x0f0f), a.Add(b));
        Assert.Equal(Tnum.Constant(0x1234 * 0x0f0f), a.Mul(b));
        Assert.Equal(Tnum.Constant(0x0204), a.And(b));
        Assert.Null(Tnum.Constant(1).Intersect(Tnum.Constant(2)));
        Assert.Equal(new Tnum(0x10, 0x0f), Tnum.Range(0x10, 0x1f));
    }

    [Fact]
    public void Intersect_keeps_exactly_the_common_members()
    {
        foreach (var a in Small())
        {
            foreach (var b in Small())
            {
                var both = a.Intersect(b);
                for (ulong x = 0; x < 16; x++)
                {
                    bool expected = a.Contains(x) && b.Contains(x);
                    Assert.Equal(expected, both?.Contains(x) ?? false);
                }
            }
        }
    }
}
