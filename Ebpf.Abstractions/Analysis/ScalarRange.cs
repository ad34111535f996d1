namespace Ebpf.Analysis;

/// <summary>
/// What is known about a 64-bit value: its signed range <see cref="SMin"/>..<see cref="SMax"/>, its unsigned range
/// <see cref="UMin"/>..<see cref="UMax"/> and its known bits (<see cref="Bits"/>); every member lies in all three.
/// Arithmetic returns a range holding every concrete result (modulo 2^64, as the machine computes).
/// </summary>
/// <param name="SMin">The smallest value, read as signed.</param>
/// <param name="SMax">The largest value, read as signed.</param>
/// <param name="UMin">The smallest value, read as unsigned.</param>
/// <param name="UMax">The largest value, read as unsigned.</param>
/// <param name="Bits">The known bits.</param>
public readonly record struct ScalarRange(long SMin, long SMax, ulong UMin, ulong UMax, Tnum Bits)
{
    /// <summary>Any 64-bit value.</summary>
    public static ScalarRange Unknown => new(long.MinValue, long.MaxValue, 0, ulong.MaxValue, Tnum.Unknown);

    /// <summary>True when the value is known.</summary>
    public bool IsConstant => UMin == UMax;

    /// <summary>A known value.</summary>
    public static ScalarRange Constant(ulong value) => new((long)value, (long)value, value, value, Tnum.Constant(value));

    /// <summary>Any value of 0..<paramref name="max"/> (unsigned).</summary>
    public static ScalarRange UpTo(ulong max) => FromUnsigned(0, max);

    /// <summary>Any value of <paramref name="min"/>..<paramref name="max"/> (unsigned).</summary>
    public static ScalarRange FromUnsigned(ulong min, ulong max) =>
        new ScalarRange(long.MinValue, long.MaxValue, min, max, Tnum.Range(min, max)).Normalize()!.Value;

    /// <summary>Any value of <paramref name="min"/>..<paramref name="max"/> (signed).</summary>
    public static ScalarRange FromSigned(long min, long max) =>
        new ScalarRange(min, max, 0, ulong.MaxValue, Tnum.Unknown).Normalize()!.Value;

    /// <summary>Any value of the given width in bits (1-64), zero-extended.</summary>
    public static ScalarRange OfWidth(int bits) => bits >= 64 ? Unknown : UpTo((1ul << bits) - 1);

    /// <summary>True when <paramref name="x"/> is a member.</summary>
    public bool Contains(ulong x) => x >= UMin && x <= UMax && (long)x >= SMin && (long)x <= SMax && Bits.Contains(x);

    /// <summary>
    /// Tightens the three views against each other (the Linux verifier's bounds sync); null when no value satisfies
    /// them all (the path is infeasible).
    /// </summary>
    public ScalarRange? Normalize()
    {
        var r = this;
        for (int round = 0; round < 2; round++)
        {
            ulong umin = Math.Max(r.UMin, r.Bits.Min), umax = Math.Min(r.UMax, r.Bits.Max);
            long smin = r.SMin, smax = r.SMax;
            if (umin > umax || smin > smax)
            {
                return null;
            }

            if ((long)umin >= 0 == (long)umax >= 0)
            {
                smin = Math.Max(smin, (long)umin);
                smax = Math.Min(smax, (long)umax);
            }

            if (smin >= 0 || smax < 0)
            {
                umin = Math.Max(umin, (ulong)smin);
                umax = Math.Min(umax, (ulong)smax);
            }

            if (umin > umax || smin > smax)
            {
                return null;
            }

            var bits = r.Bits.Intersect(Tnum.Range(umin, umax));
            if (bits is null)
            {
                return null;
            }

            r = new ScalarRange(smin, smax, umin, umax, bits.Value);
        }

        return r;
    }

    /// <summary>The smallest range holding both.</summary>
    public ScalarRange Join(ScalarRange other) => new(
        Math.Min(SMin, other.SMin), Math.Max(SMax, other.SMax), Math.Min(UMin, other.UMin), Math.Max(UMax, other.UMax), Bits.Union(other.Bits));

    /// <summary>The join, with every bound that grew pushed to its extreme (so loops converge).</summary>
    public ScalarRange Widen(ScalarRange next) => new(
        next.SMin < SMin ? long.MinValue : SMin,
        next.SMax > SMax ? long.MaxValue : SMax,
        next.UMin < UMin ? 0 : UMin,
        next.UMax > UMax ? ulong.MaxValue : UMax,
        Bits.Union(next.Bits) == Bits ? Bits : Tnum.Unknown);

    /// <summary>Sum.</summary>
    public ScalarRange Add(ScalarRange b)
    {
        long smin = SMin + b.SMin, smax = SMax + b.SMax;
        bool signedOverflow = AddOverflows(SMin, b.SMin) || AddOverflows(SMax, b.SMax);
        bool unsignedOverflow = UMax + b.UMax < UMax;
        return Make(
            signedOverflow ? long.MinValue : smin, signedOverflow ? long.MaxValue : smax,
            unsignedOverflow ? 0 : UMin + b.UMin, unsignedOverflow ? ulong.MaxValue : UMax + b.UMax,
            Bits.Add(b.Bits));
    }

    /// <summary>Difference.</summary>
    public ScalarRange Sub(ScalarRange b)
    {
        bool signedOverflow = SubOverflows(SMin, b.SMax) || SubOverflows(SMax, b.SMin);
        bool unsignedOverflow = UMin < b.UMax;
        return Make(
            signedOverflow ? long.MinValue : SMin - b.SMax, signedOverflow ? long.MaxValue : SMax - b.SMin,
            unsignedOverflow ? 0 : UMin - b.UMax, unsignedOverflow ? ulong.MaxValue : UMax - b.UMin,
            Bits.Sub(b.Bits));
    }

    /// <summary>Product (exact bounds only when both factors are below 2^32).</summary>
    public ScalarRange Mul(ScalarRange b)
    {
        var bits = Bits.Mul(b.Bits);
        return UMax <= uint.MaxValue && b.UMax <= uint.MaxValue
            ? Make(long.MinValue, long.MaxValue, UMin * b.UMin, UMax * b.UMax, bits)
            : Make(long.MinValue, long.MaxValue, 0, ulong.MaxValue, bits);
    }

    /// <summary>Bitwise and.</summary>
    public ScalarRange And(ScalarRange b) => FromBits(Bits.And(b.Bits), 0, Math.Min(UMax, b.UMax));

    /// <summary>Bitwise or.</summary>
    public ScalarRange Or(ScalarRange b) => FromBits(Bits.Or(b.Bits), Math.Max(UMin, b.UMin), ulong.MaxValue);

    /// <summary>Bitwise exclusive or.</summary>
    public ScalarRange Xor(ScalarRange b) => FromBits(Bits.Xor(b.Bits), 0, ulong.MaxValue);

    /// <summary>Left shift by a count that is known or not (the count is taken modulo 64).</summary>
    public ScalarRange ShiftLeft(ScalarRange count)
    {
        if (!count.IsConstant)
        {
            return Unknown;
        }

        int k = (int)(count.UMin & 63);
        bool overflow = k > 0 && UMax > ulong.MaxValue >> k;
        return Make(long.MinValue, long.MaxValue, overflow ? 0 : UMin << k, overflow ? ulong.MaxValue : UMax << k, Bits.ShiftLeft(k));
    }

    /// <summary>Logical right shift (the count is taken modulo 64).</summary>
    public ScalarRange ShiftRight(ScalarRange count)
    {
        if (!count.IsConstant)
        {
            return UpTo(UMax);
        }

        int k = (int)(count.UMin & 63);
        return Make(long.MinValue, long.MaxValue, UMin >> k, UMax >> k, Bits.ShiftRight(k));
    }

    /// <summary>Arithmetic right shift (the count is taken modulo 64).</summary>
    public ScalarRange ShiftRightArithmetic(ScalarRange count)
    {
        if (!count.IsConstant)
        {
            return FromSigned(Math.Min(SMin, 0), Math.Max(SMax, 0));
        }

        int k = (int)(count.UMin & 63);
        return Make(SMin >> k, SMax >> k, 0, ulong.MaxValue, Bits.ShiftRightArithmetic(k));
    }

    /// <summary>Unsigned division (a divisor of 0 gives 0).</summary>
    public ScalarRange Div(ScalarRange b) =>
        b.UMin > 0 ? FromUnsigned(UMin / b.UMax, UMax / b.UMin) : b.UMax == 0 ? Constant(0) : UpTo(UMax);

    /// <summary>Unsigned remainder (a divisor of 0 leaves the dividend).</summary>
    public ScalarRange Mod(ScalarRange b) =>
        b.UMin > 0 ? (IsConstant && b.IsConstant ? Constant(UMin % b.UMin) : UMax < b.UMin ? this : UpTo(Math.Min(UMax, b.UMax - 1)))
        : b.UMax == 0 ? this : UpTo(UMax);

    /// <summary>The value truncated to its low 32 bits (zero-extended).</summary>
    public ScalarRange Truncate32() => LowBits(32);

    /// <summary>
    /// The low <paramref name="bits"/> bits (1-63) of the value, zero-extended: exact bounds when the unsigned or the
    /// signed range does not cross a multiple of 2^<paramref name="bits"/> (e.g. [-3, -1] gives [2^bits - 3, 2^bits - 1]),
    /// else the whole width; the known low bits are kept either way.
    /// </summary>
    internal ScalarRange LowBits(int bits)
    {
        ulong mask = (1ul << bits) - 1;
        if (UMax <= mask)
        {
            return this;
        }

        var tnum = Bits.Truncate(bits);
        if (UMin >> bits == UMax >> bits)
        {
            return Make(long.MinValue, long.MaxValue, UMin & mask, UMax & mask, tnum);
        }

        if (SMin >> bits == SMax >> bits)
        {
            return Make(long.MinValue, long.MaxValue, (ulong)SMin & mask, (ulong)SMax & mask, tnum);
        }

        return Make(long.MinValue, long.MaxValue, 0, mask, tnum);
    }

    /// <summary>The low <paramref name="bits"/> bits sign-extended to 64.</summary>
    public ScalarRange SignExtend(int bits)
    {
        long half = 1L << (bits - 1);
        return UMax < (ulong)half ? this : FromSigned(-half, half - 1);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        if (IsConstant)
        {
            return SMin is >= -4096 and <= 4096 ? SMin.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"0x{UMin:x}";
        }

        var parts = new List<string>(3);
        if (UMin != 0 || UMax != ulong.MaxValue)
        {
            parts.Add($"u[{UMin}, {(UMax == ulong.MaxValue ? "max" : UMax.ToString(System.Globalization.CultureInfo.InvariantCulture))}]");
        }

        if ((SMin != long.MinValue || SMax != long.MaxValue) && !(SMin >= 0 && (ulong)SMin == UMin && (ulong)SMax == UMax))
        {
            parts.Add($"s[{SMin}, {SMax}]");
        }

        if (Bits.Mask != ulong.MaxValue && Bits != Tnum.Range(UMin, UMax))
        {
            parts.Add($"bits={Bits}");
        }

        return parts.Count == 0 ? "any" : string.Join(' ', parts);
    }

    private static ScalarRange FromBits(Tnum bits, ulong umin, ulong umax) =>
        Make(long.MinValue, long.MaxValue, umin, umax, bits);

    private static ScalarRange Make(long smin, long smax, ulong umin, ulong umax, Tnum bits) =>
        new ScalarRange(smin, smax, umin, umax, bits).Normalize() ?? new ScalarRange(long.MinValue, long.MaxValue, 0, ulong.MaxValue, bits);

    private static bool AddOverflows(long a, long b) => (b > 0 && a > long.MaxValue - b) || (b < 0 && a < long.MinValue - b);

    private static bool SubOverflows(long a, long b) => (b < 0 && a > long.MaxValue + b) || (b > 0 && a < long.MinValue + b);
}
