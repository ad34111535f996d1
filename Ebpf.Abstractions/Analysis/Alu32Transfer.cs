using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// The 32-bit ALU operations on ranges, as the machine computes them: the operands are the low 32 bits of the registers,
/// the result is computed in 32 bits and zero-extended. Each is the 64-bit operation on the zero-extended operands
/// (exact for these, which cannot overflow 64 bits but for the shifts, handled apart) followed by
/// <see cref="ScalarRange.LowBits(int)"/>, so ranges and known bits of the low half survive wrap-around when the result
/// does not cross 2^32 (e.g. <c>w0 = 0 - w1</c> for <c>w1</c> in [1, 8] is [2^32 - 8, 2^32 - 1]), as the Linux verifier
/// tracks its 32-bit bounds.
/// </summary>
internal static class Alu32Transfer
{
    private const ulong Low = uint.MaxValue;
    private const ulong SignBit = 1ul << 31;

    /// <summary>The zero-extended 32-bit result of <paramref name="op"/> on the low halves of <paramref name="dst"/> and <paramref name="src"/> (unary operations read <paramref name="dst"/>, moves <paramref name="src"/>).</summary>
    public static ScalarRange Apply(Operation op, ScalarRange dst, ScalarRange src)
    {
        var a = dst.LowBits(32);
        var b = src.LowBits(32);
        var result = Common(op, a, b) ?? op switch
        {
            Operation.Mov => b,
            Operation.Add => a.Add(b),
            Operation.Sub => a.Sub(b),
            Operation.Neg => ScalarRange.Constant(0).Sub(a),
            Operation.Lsh => b.IsConstant ? a.ShiftLeft(ScalarRange.Constant(b.UMin & 31)) : ScalarRange.OfWidth(32),
            Operation.Rsh => b.IsConstant ? a.ShiftRight(ScalarRange.Constant(b.UMin & 31)) : ScalarRange.UpTo(a.UMax),
            Operation.Arsh => b.IsConstant ? ShiftRightArithmetic(a, (int)(b.UMin & 31)) : ScalarRange.OfWidth(32),
            Operation.MovSx8 => SignExtend(src.LowBits(8), 8),
            Operation.MovSx16 => SignExtend(src.LowBits(16), 16),
            _ => ScalarRange.OfWidth(32), // sdiv, smod
        };
        return result.LowBits(32);
    }

    /// <summary>The operations computed alike in 64 and 32 bits (the 32-bit result is then truncated): product, quotient, remainder, and, or, xor; null for the others.</summary>
    internal static ScalarRange? Common(Operation op, ScalarRange a, ScalarRange b) => op switch
    {
        Operation.Mul => a.Mul(b),
        Operation.Div => a.Div(b),
        Operation.Mod => a.Mod(b),
        Operation.Or => a.Or(b),
        Operation.And => a.And(b),
        Operation.Xor => a.Xor(b),
        _ => null,
    };

    /// <summary>
    /// A value of <paramref name="width"/> bits (zero-extended) sign-extended to 32 bits: unchanged below the sign bit,
    /// moved up by 2^32 - 2^width at or above it, the whole width when the range holds both.
    /// </summary>
    private static ScalarRange SignExtend(ScalarRange value, int width)
    {
        ulong sign = 1ul << (width - 1);
        if (value.UMax < sign)
        {
            return value;
        }

        return value.UMin >= sign ? value.Add(ScalarRange.Constant((1ul << 32) - (1ul << width))) : ScalarRange.OfWidth(32);
    }

    /// <summary>
    /// Arithmetic right shift of a 32-bit value by <paramref name="count"/> (0-31): the value read as a signed 32-bit
    /// number when its sign is known (the range does not hold both signs), shifted, and zero-extended back; the known
    /// bits shift with bit 31 copied down.
    /// </summary>
    private static ScalarRange ShiftRightArithmetic(ScalarRange value, int count)
    {
        var t = value.Bits;
        bool signKnown = (t.Mask & SignBit) == 0;
        ulong high = ~Low;
        var extended = signKnown
            ? new Tnum((t.Value & SignBit) != 0 ? t.Value | high : t.Value, t.Mask)
            : new Tnum(t.Value, t.Mask | high);
        var bits = extended.ShiftRightArithmetic(count).Truncate(32);
        ulong lo, hi;
        if (value.UMax < SignBit)
        {
            (lo, hi) = (value.UMin >> count, value.UMax >> count);
        }
        else if (value.UMin >= SignBit)
        {
            // negative as int32: shifting keeps them negative and in order
            lo = (uint)((int)(uint)value.UMin >> count);
            hi = (uint)((int)(uint)value.UMax >> count);
        }
        else
        {
            (lo, hi) = (0, Low);
        }

        return new ScalarRange(long.MinValue, long.MaxValue, lo, hi, bits).Normalize() ?? ScalarRange.OfWidth(32);
    }
}
