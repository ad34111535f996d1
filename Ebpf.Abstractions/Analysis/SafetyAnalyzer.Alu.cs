using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    /// <summary>Offsets and numbers whose magnitude stays below this are added without wrapping, so length relations survive.</summary>
    private const long SmallLimit = 1L << 40;

    /// <summary>The largest stride a link between a pointer and a counter may have (so products stay far from overflow).</summary>
    private const long MaxStride = 1 << 20;

    private int nextLinkId;

    private bool Alu(int pc, in DecodedInstruction insn, AbstractState state)
    {
        var op = insn.Operation;
        bool unary = op is Operation.Neg or (>= Operation.Le16 and <= Operation.Bswap64);
        bool move = op is Operation.Mov or Operation.MovSx8 or Operation.MovSx16 or Operation.MovSx32;
        var dst = AbstractValue.Uninitialized;
        if (!move && !Read(pc, state, insn.Dst, out dst))
        {
            return false;
        }

        var src = AbstractValue.Constant(insn.Is64 ? (ulong)(long)insn.Imm : (uint)insn.Imm);
        if (!unary && insn.HasRegisterSource && !Read(pc, state, insn.Src, out src))
        {
            return false;
        }

        if (!move && (AbstractValue.IsSocket(dst.Kind) || (insn.HasRegisterSource && !unary && AbstractValue.IsSocket(src.Kind))))
        {
            // the kernel's verifier allows no arithmetic on socket pointers (a copy is fine); the result is unknown
            var socket = AbstractValue.IsSocket(dst.Kind) ? dst : src;
            Refuse(pc, insn.Is64
                ? $"r{insn.Dst}: pointer arithmetic on {AbstractValue.SocketName(socket.Kind)} prohibited{(AbstractValue.IsNullable(socket.Kind) ? ", null-check it first" : string.Empty)}"
                : $"r{insn.Dst}: 32-bit pointer arithmetic prohibited ({AbstractValue.SocketName(socket.Kind)})");
            state.Registers[insn.Dst] = AbstractValue.UnknownValue;
            return true;
        }

        var result = insn.Is64 ? Alu64(op, dst, src) : Alu32(op, dst, src);
        if (insn.Is64 && result.Kind == ValueKind.Scalar && Divisor(op, src) is { } d && dst.Kind == ValueKind.Scalar && dst.LenUpper is { } c && Math.Abs(c) <= SmallLimit && dst.Num.SMin >= 0 && IsSmall(dst.Num))
        {
            // v <= len + c and v >= 0: d * (v / d) <= v, so the quotient keeps the relation, and gets the scaled one
            result = result.WithScaled(d, c) with { LenUpper = Min(result.LenUpper, c) };
        }
        if (insn.Is64 && result.Kind is ValueKind.Scalar or ValueKind.Input)
        {
            result = Link(state, insn, dst, src, result);
        }

        if (insn.Is64 && result.Kind == ValueKind.Scalar)
        {
            result = Sum(state, insn, dst, src, result);
        }

        state.Registers[insn.Dst] = result;
        return true;
    }

    /// <summary>
    /// Keeps copies of scalars and input (packet) pointers linked: <c>mov dst, src</c> gives both one link id, and
    /// adding or subtracting a constant keeps the id with a new delta (when it cannot wrap); any other result starts
    /// unlinked. So <c>p = data + n; q = p + 4; if (q &gt; end) ...</c> proves the range of p too, as the kernel does
    /// for packet pointers that share an id.
    /// </summary>
    private AbstractValue Link(AbstractState state, in DecodedInstruction insn, in AbstractValue dst, in AbstractValue src, AbstractValue result)
    {
        if (insn.Operation == Operation.Mov && insn.HasRegisterSource && src.Kind is ValueKind.Scalar or ValueKind.Input && !src.Num.IsConstant)
        {
            if (src.LinkId != 0)
            {
                return result;
            }

            int id = ++nextLinkId;
            state.Registers[insn.Src] = src with { LinkId = id, LinkDelta = 0, LinkStride = 1 };
            return result with { LinkId = id, LinkDelta = 0, LinkStride = 1 };
        }

        if ((insn.Operation is Operation.Add or Operation.Sub || IsDisjointOr(insn, dst, src)) && dst.LinkId != 0 && dst.Kind == result.Kind && src.Kind == ValueKind.Scalar && src.Num.IsConstant && IsSmall(dst.Num) && IsSmall(src.Num))
        {
            long k = src.Num.SMin;
            return result with { LinkId = dst.LinkId, LinkDelta = insn.Operation == Operation.Sub ? dst.LinkDelta - k : dst.LinkDelta + k, LinkStride = dst.LinkStride };
        }

        return result with { LinkId = 0, LinkDelta = 0, LinkStride = 1 };
    }

    private static AbstractValue Alu64(Operation op, in AbstractValue dst, in AbstractValue src)
    {
        switch (op)
        {
            case Operation.Mov:
                return src;
            case Operation.MovSx8 or Operation.MovSx16 or Operation.MovSx32:
                return src.Kind == ValueKind.Scalar ? AbstractValue.Scalar(src.Num.SignExtend(SignWidth(op))) : AbstractValue.AnyScalar;
            case Operation.Add or Operation.Sub:
                return AddOrSub(op == Operation.Sub, dst, src);
        }

        if (dst.Kind != ValueKind.Scalar || (src.Kind != ValueKind.Scalar && !IsUnary(op)))
        {
            return dst.IsPointer || src.IsPointer || dst.Kind == ValueKind.Unknown || src.Kind == ValueKind.Unknown
                ? AbstractValue.UnknownValue
                : AbstractValue.AnyScalar;
        }

        var a = dst.Num;
        var b = src.Num;
        return AbstractValue.Scalar(Alu32Transfer.Common(op, a, b) ?? op switch
        {
            Operation.Lsh => a.ShiftLeft(b),
            Operation.Rsh => a.ShiftRight(b),
            Operation.Arsh => a.ShiftRightArithmetic(b),
            Operation.Neg => ScalarRange.Constant(0).Sub(a),
            Operation.Le16 => a.And(ScalarRange.Constant(0xffff)),
            Operation.Le32 => a.Truncate32(),
            Operation.Le64 => a,
            Operation.Be16 or Operation.Bswap16 => ScalarRange.OfWidth(16),
            Operation.Be32 or Operation.Bswap32 => ScalarRange.OfWidth(32),
            _ => ScalarRange.Unknown, // sdiv, smod, be64, bswap64
        });
    }

    private static AbstractValue Alu32(Operation op, in AbstractValue dst, in AbstractValue src)
    {
        if (op == Operation.Mov && src.Kind == ValueKind.Scalar && src.Num.UMax <= uint.MaxValue)
        {
            return src; // the same number: its relations hold
        }

        if (IsUnary(op) && op != Operation.Neg)
        {
            return Alu64(op, dst, src); // the byte swaps name their width; the result is zero-extended either way
        }

        bool fits = dst.Kind == ValueKind.Scalar && src.Kind == ValueKind.Scalar && dst.Num.UMax <= uint.MaxValue && src.Num.UMax <= uint.MaxValue;
        if (fits && op is Operation.Add or Operation.Sub)
        {
            // both below 2^32: when the sum or difference stays in [0, 2^32) it is the 64-bit one, relations included
            var wide = AddOrSub(op == Operation.Sub, dst, src);
            if (wide.Num.SMin >= 0 && wide.Num.UMax <= uint.MaxValue)
            {
                return wide;
            }
        }

        var a = dst.Kind == ValueKind.Scalar ? dst.Num : ScalarRange.Unknown;
        var b = src.Kind == ValueKind.Scalar ? src.Num : ScalarRange.Unknown;
        return AbstractValue.Scalar(Alu32Transfer.Apply(op, a, b));
    }

    /// <summary>The constant divisor of an unsigned division or right shift by a constant (1 to 2^20, so scaled constants stay far from overflow), else null.</summary>
    private static int? Divisor(Operation op, in AbstractValue src)
    {
        if (src.Kind != ValueKind.Scalar || !src.Num.IsConstant)
        {
            return null;
        }

        ulong k = src.Num.UMin;
        return op switch
        {
            Operation.Rsh when k is >= 1 and <= 20 => 1 << (int)k,
            Operation.Div when k is >= 1 and <= 1 << 20 => (int)k,
            _ => null,
        };
    }

    private static bool IsUnary(Operation op) => op is Operation.Neg or (>= Operation.Le16 and <= Operation.Bswap64);

    private static int SignWidth(Operation op) => op switch
    {
        Operation.MovSx8 => 8,
        Operation.MovSx16 => 16,
        _ => 32,
    };

    /// <summary>64-bit add or subtract: numbers, pointer plus or minus a number, or the distance of two pointers into one region.</summary>
    private static AbstractValue AddOrSub(bool subtract, in AbstractValue a, in AbstractValue b)
    {
        var num = subtract ? a.Num.Sub(b.Num) : a.Num.Add(b.Num);
        var (upper, lower) = Relations(subtract, a, b);
        var (scale, scaledUpper, sumUpper) = ScaledRelations(subtract, a, b);
        upper = Min(upper, sumUpper);
        bool offsettable(in AbstractValue v) => v.Kind is ValueKind.Input or ValueKind.Stack or ValueKind.MapValue or ValueKind.Global or ValueKind.Context or ValueKind.PacketMeta;
        if (a.Kind == ValueKind.Scalar && b.Kind == ValueKind.Scalar)
        {
            return new AbstractValue(ValueKind.Scalar, num, upper, lower).WithScaled(scale, scaledUpper);
        }

        if (offsettable(a) && b.Kind == ValueKind.Scalar)
        {
            bool input = a.Kind == ValueKind.Input;
            return (a with { Num = num, LenUpper = input ? upper : null, LenLower = input ? lower : null }).WithScaled(input ? scale : 0, scaledUpper);
        }

        if (!subtract && a.Kind == ValueKind.Scalar && offsettable(b))
        {
            bool input = b.Kind == ValueKind.Input;
            return (b with { Num = num, LenUpper = input ? upper : null, LenLower = input ? lower : null }).WithScaled(input ? scale : 0, scaledUpper);
        }

        if (subtract && a.IsPacket && b.IsPacket)
        {
            return new AbstractValue(ValueKind.Scalar, num, upper, lower); // e.g. data_end - data: len minus the offset
        }

        if (subtract && offsettable(a) && a.SameRegion(b))
        {
            return new AbstractValue(ValueKind.Scalar, num);
        }

        return AbstractValue.UnknownValue;
    }

    /// <summary>The relations to the input length of <c>a + b</c> (or <c>a - b</c>), from those of the operands and the other's bounds.</summary>
    private static (long? Upper, long? Lower) Relations(bool subtract, in AbstractValue a, in AbstractValue b)
    {
        if (!IsSmall(a.Num) || !IsSmall(b.Num))
        {
            return (null, null);
        }

        if (subtract)
        {
            return (a.LenUpper - b.Num.SMin, a.LenLower - b.Num.SMax);
        }

        long? upper = Min(a.LenUpper + b.Num.SMax, b.LenUpper + a.Num.SMax);
        long? lower = Max(a.LenLower + b.Num.SMin, b.LenLower + a.Num.SMin);
        return (upper, lower);
    }

    /// <summary>
    /// The scaled relations (<see cref="AbstractValue.LenScale"/>) of <c>a + b</c> (or <c>a - b</c>): a scaled value
    /// plus or minus a constant k keeps its scale, its constant moved by scale * k; and the sum of two values with the
    /// same scale d &gt;= 2 (<c>d*a &lt;= len + ca</c>, <c>d*b &lt;= len + cb</c>) is at most
    /// <c>(2 len + ca + cb) / d &lt;= len + (ca + cb) / d</c> (the length is not negative): a plain upper relation.
    /// </summary>
    private static (int Scale, long ScaledUpper, long? SumUpper) ScaledRelations(bool subtract, in AbstractValue a, in AbstractValue b)
    {
        if (!IsSmall(a.Num) || !IsSmall(b.Num))
        {
            return (0, 0, null);
        }

        // scales are at most 2^20 and constants kept at most 2^40 in magnitude, so nothing here overflows
        static (int, long, long?) Scaled(int scale, long upper) => Math.Abs(upper) <= SmallLimit ? (scale, upper, null) : (0, 0, null);
        if (a.LenScale > 0 && b.Num.IsConstant)
        {
            long k = b.Num.SMin;
            return Scaled(a.LenScale, subtract ? a.ScaledUpper - (a.LenScale * k) : a.ScaledUpper + (a.LenScale * k));
        }

        if (subtract)
        {
            return (0, 0, null);
        }

        if (b.LenScale > 0 && a.Num.IsConstant)
        {
            return Scaled(b.LenScale, b.ScaledUpper + (b.LenScale * a.Num.SMin));
        }

        return a.LenScale >= 2 && a.LenScale == b.LenScale
            ? (0, 0, AbstractValue.FloorDiv(a.ScaledUpper + b.ScaledUpper, a.LenScale))
            : (0, 0, null);
    }

    private static bool IsSmall(in ScalarRange r) => r.SMin >= -SmallLimit && r.SMax <= SmallLimit;

    private static long? Min(long? x, long? y) => x is null ? y : y is null ? x : Math.Min(x.Value, y.Value);

    private static long? Max(long? x, long? y) => x is null ? y : y is null ? x : Math.Max(x.Value, y.Value);
}
