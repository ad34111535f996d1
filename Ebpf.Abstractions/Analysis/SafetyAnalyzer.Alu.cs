using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    /// <summary>Offsets and numbers whose magnitude stays below this are added without wrapping, so length relations survive.</summary>
    private const long SmallLimit = 1L << 40;

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

        var result = insn.Is64 ? Alu64(op, dst, src) : Alu32(op, dst, src);
        if (insn.Is64 && result.Kind is ValueKind.Scalar or ValueKind.Input)
        {
            result = Link(state, insn, dst, src, result);
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
            state.Registers[insn.Src] = src with { LinkId = id, LinkDelta = 0 };
            return result with { LinkId = id, LinkDelta = 0 };
        }

        if (insn.Operation is Operation.Add or Operation.Sub && dst.LinkId != 0 && dst.Kind == result.Kind && src.Kind == ValueKind.Scalar && src.Num.IsConstant && IsSmall(dst.Num) && IsSmall(src.Num))
        {
            long k = src.Num.SMin;
            return result with { LinkId = dst.LinkId, LinkDelta = insn.Operation == Operation.Add ? dst.LinkDelta + k : dst.LinkDelta - k };
        }

        return result with { LinkId = 0, LinkDelta = 0 };
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
        return AbstractValue.Scalar(op switch
        {
            Operation.Mul => a.Mul(b),
            Operation.Div => a.Div(b),
            Operation.Mod => a.Mod(b),
            Operation.Or => a.Or(b),
            Operation.And => a.And(b),
            Operation.Xor => a.Xor(b),
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
        if (op == Operation.Mov)
        {
            return src.Kind == ValueKind.Scalar && src.Num.UMax <= uint.MaxValue ? src : AbstractValue.Scalar(src.Kind == ValueKind.Scalar ? src.Num.Truncate32() : ScalarRange.OfWidth(32));
        }

        if (IsUnary(op) && op != Operation.Neg)
        {
            return Alu64(op, dst, src); // the byte swaps name their width; the result is zero-extended either way
        }

        var a = dst.Kind == ValueKind.Scalar ? dst.Num.Truncate32() : ScalarRange.OfWidth(32);
        var b = src.Kind == ValueKind.Scalar ? src.Num.Truncate32() : ScalarRange.OfWidth(32);
        if (dst.Kind == ValueKind.Uninitialized)
        {
            a = ScalarRange.OfWidth(32); // movsx reads only the source
        }

        var result = op switch
        {
            Operation.Add => a.Add(b),
            Operation.Sub => a.Sub(b),
            Operation.Mul => a.Mul(b),
            Operation.Div => a.Div(b),
            Operation.Mod => a.Mod(b),
            Operation.Or => a.Or(b),
            Operation.And => a.And(b),
            Operation.Xor => a.Xor(b),
            Operation.Lsh => b.IsConstant ? a.ShiftLeft(ScalarRange.Constant(b.UMin & 31)) : ScalarRange.OfWidth(32),
            Operation.Rsh => b.IsConstant ? a.ShiftRight(ScalarRange.Constant(b.UMin & 31)) : a,
            Operation.Neg => ScalarRange.Constant(0).Sub(a),
            Operation.MovSx8 or Operation.MovSx16 when b.UMax < 1ul << (SignWidth(op) - 1) => b,
            _ => ScalarRange.OfWidth(32), // arsh, sdiv, smod, movsx of a negative value
        };
        return AbstractValue.Scalar(result.Truncate32());
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
        bool offsettable(in AbstractValue v) => v.Kind is ValueKind.Input or ValueKind.Stack or ValueKind.MapValue or ValueKind.Global or ValueKind.Context or ValueKind.PacketMeta;
        if (a.Kind == ValueKind.Scalar && b.Kind == ValueKind.Scalar)
        {
            return new AbstractValue(ValueKind.Scalar, num, upper, lower);
        }

        if (offsettable(a) && b.Kind == ValueKind.Scalar)
        {
            return a with { Num = num, LenUpper = a.Kind == ValueKind.Input ? upper : null, LenLower = a.Kind == ValueKind.Input ? lower : null };
        }

        if (!subtract && a.Kind == ValueKind.Scalar && offsettable(b))
        {
            return b with { Num = num, LenUpper = b.Kind == ValueKind.Input ? upper : null, LenLower = b.Kind == ValueKind.Input ? lower : null };
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

    private static bool IsSmall(in ScalarRange r) => r.SMin >= -SmallLimit && r.SMax <= SmallLimit;

    private static long? Min(long? x, long? y) => x is null ? y : y is null ? x : Math.Min(x.Value, y.Value);

    private static long? Max(long? x, long? y) => x is null ? y : y is null ? x : Math.Max(x.Value, y.Value);
}
