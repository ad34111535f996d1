using System.Numerics;

namespace Ebpf.Analysis;

/// <summary>
/// A tristate number ("tnum", as the Linux verifier calls it): 64 bits each known 0, known 1 or unknown. A bit set in
/// <see cref="Mask"/> is unknown; the other bits have the value of <see cref="Value"/> (which is 0 where the mask is
/// set). Every operation returns a tnum that contains every concrete result of the operation on members of the inputs.
/// </summary>
/// <param name="Value">The known bits.</param>
/// <param name="Mask">The unknown bits.</param>
public readonly record struct Tnum(ulong Value, ulong Mask)
{
    /// <summary>Every bit unknown.</summary>
    public static Tnum Unknown => new(0, ulong.MaxValue);

    /// <summary>True when every bit is known.</summary>
    public bool IsConstant => Mask == 0;

    /// <summary>The smallest member (unsigned).</summary>
    public ulong Min => Value;

    /// <summary>The largest member (unsigned).</summary>
    public ulong Max => Value | Mask;

    /// <summary>A known value.</summary>
    public static Tnum Constant(ulong value) => new(value, 0);

    /// <summary>The tightest tnum holding every value of <paramref name="min"/>..<paramref name="max"/> (unsigned).</summary>
    public static Tnum Range(ulong min, ulong max)
    {
        ulong differ = min ^ max;
        if (differ == 0)
        {
            return Constant(min);
        }

        int bits = 64 - BitOperations.LeadingZeroCount(differ);
        ulong mask = bits == 64 ? ulong.MaxValue : (1ul << bits) - 1;
        return new Tnum(min & ~mask, mask);
    }

    /// <summary>True when <paramref name="x"/> is a member.</summary>
    public bool Contains(ulong x) => (x & ~Mask) == Value;

    /// <summary>Sum.</summary>
    public Tnum Add(Tnum other)
    {
        ulong masks = Mask + other.Mask;
        ulong values = Value + other.Value;
        ulong carries = (masks + values) ^ values;
        ulong unknown = carries | Mask | other.Mask;
        return new Tnum(values & ~unknown, unknown);
    }

    /// <summary>Difference.</summary>
    public Tnum Sub(Tnum other)
    {
        ulong difference = Value - other.Value;
        ulong high = difference + Mask;
        ulong low = difference - other.Mask;
        ulong unknown = (high ^ low) | Mask | other.Mask;
        return new Tnum(difference & ~unknown, unknown);
    }

    /// <summary>Bitwise and.</summary>
    public Tnum And(Tnum other)
    {
        ulong ones = Value & other.Value;
        return new Tnum(ones, (Value | Mask) & (other.Value | other.Mask) & ~ones);
    }

    /// <summary>Bitwise or.</summary>
    public Tnum Or(Tnum other)
    {
        ulong ones = Value | other.Value;
        return new Tnum(ones, (Mask | other.Mask) & ~ones);
    }

    /// <summary>Bitwise exclusive or.</summary>
    public Tnum Xor(Tnum other)
    {
        ulong unknown = Mask | other.Mask;
        return new Tnum((Value ^ other.Value) & ~unknown, unknown);
    }

    /// <summary>Left shift by a known count (0-63).</summary>
    public Tnum ShiftLeft(int count) => new(Value << count, Mask << count);

    /// <summary>Logical right shift by a known count (0-63).</summary>
    public Tnum ShiftRight(int count) => new(Value >> count, Mask >> count);

    /// <summary>Arithmetic right shift (of the 64-bit value) by a known count (0-63).</summary>
    public Tnum ShiftRightArithmetic(int count) => new((ulong)((long)Value >> count), (ulong)((long)Mask >> count));

    /// <summary>Product (modulo 2^64): the partial products of the known bits are exact, the unknown bits spread.</summary>
    public Tnum Mul(Tnum other)
    {
        ulong exact = Value * other.Value;
        var spread = Constant(0);
        var a = this;
        var b = other;
        while ((a.Value | a.Mask) != 0)
        {
            if ((a.Value & 1) != 0)
            {
                spread = spread.Add(new Tnum(0, b.Mask));
            }
            else if ((a.Mask & 1) != 0)
            {
                spread = spread.Add(new Tnum(0, b.Value | b.Mask));
            }

            a = a.ShiftRight(1);
            b = b.ShiftLeft(1);
        }

        return Constant(exact).Add(spread);
    }

    /// <summary>The smallest tnum holding the members of both.</summary>
    public Tnum Union(Tnum other)
    {
        ulong unknown = Mask | other.Mask | (Value ^ other.Value);
        return new Tnum(Value & ~unknown, unknown);
    }

    /// <summary>The members of both (null when they share none).</summary>
    public Tnum? Intersect(Tnum other)
    {
        ulong known = ~Mask & ~other.Mask;
        if (((Value ^ other.Value) & known) != 0)
        {
            return null;
        }

        ulong unknown = Mask & other.Mask;
        return new Tnum((Value | other.Value) & ~unknown, unknown);
    }

    /// <summary>The low <paramref name="bits"/> bits (1-64), the others known 0.</summary>
    public Tnum Truncate(int bits)
    {
        ulong keep = bits >= 64 ? ulong.MaxValue : (1ul << bits) - 1;
        return new Tnum(Value & keep, Mask & keep);
    }

    /// <inheritdoc />
    public override string ToString() => IsConstant ? $"0x{Value:x}" : $"(0x{Value:x}; 0x{Mask:x})";
}
