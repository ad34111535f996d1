using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    private int nextNullId;

    /// <summary>A conditional jump: refines a copy of the state for each side; queues the jump side and continues with the fall-through when both are feasible.</summary>
    private int Branch(int pc, in DecodedInstruction insn, AbstractState state)
    {
        if (!Read(pc, state, insn.Dst, out _) || (insn.HasRegisterSource && !Read(pc, state, insn.Src, out _)))
        {
            return -1;
        }

        var taken = state.Clone();
        bool jumps = Refine(taken, insn, true);
        bool fallsThrough = Refine(state, insn, false);
        if (jumps)
        {
            Merge(insn.Target, taken);
        }

        return fallsThrough ? pc + 1 : -1;
    }

    /// <summary>Narrows <paramref name="state"/> to the runs where the jump is (<paramref name="taken"/>) or is not taken; false when there are none.</summary>
    private bool Refine(AbstractState state, in DecodedInstruction insn, bool taken)
    {
        var op = taken ? insn.Operation : Negate(insn.Operation);
        bool notSet = !taken && insn.Operation == Operation.Jset;
        var a = state.Registers[insn.Dst];
        var b = insn.HasRegisterSource ? state.Registers[insn.Src] : AbstractValue.Constant(insn.Is64 ? (ulong)(long)insn.Imm : (uint)insn.Imm);
        if (!insn.Is64)
        {
            // values in [0, 2^32) compare as their low halves unsigned; values in [0, 2^31) also signed, as in 64 bits
            bool signed = op is Operation.Jsgt or Operation.Jsge or Operation.Jslt or Operation.Jsle;
            ulong limit = signed ? int.MaxValue : uint.MaxValue;
            bool fits = a.Kind == ValueKind.Scalar && b.Kind == ValueKind.Scalar && a.Num.UMax <= limit && b.Num.UMax <= limit;
            if (!fits)
            {
                return true; // a 32-bit comparison of values that may not fit in 32 bits: no refinement
            }
        }

        if (AbstractValue.IsNullable(a.Kind) && b.Kind == ValueKind.Scalar && b.Num.IsConstant && b.Num.UMin == 0 && op is Operation.Jeq or Operation.Jne)
        {
            ResolveNull(state, insn.Dst, a, isNull: op == Operation.Jeq);
            if (op == Operation.Jeq)
            {
                DropNullRecord(state, a);
            }

            return true;
        }

        if ((a.Kind, b.Kind) is (ValueKind.PacketMeta, ValueKind.Input) or (ValueKind.Input, ValueKind.PacketMeta))
        {
            RefineMeta(state, op, a, b);
            return true;
        }

        bool scalars = a.Kind == ValueKind.Scalar && b.Kind == ValueKind.Scalar;
        bool pointers = a.SameRegion(b) && IsAddressRange(a.Num) && IsAddressRange(b.Num) && IsUnsignedOrEquality(op);
        if (!scalars && !pointers)
        {
            return true;
        }

        if (RefineRanges(op, notSet, a.Num, b.Num) is not var (na, nb))
        {
            return false;
        }

        a = a with { Num = na };
        b = b with { Num = nb };
        if (!Relate(state, op, ref a, ref b) || !ImpliesLength(state, a) || !ImpliesLength(state, b))
        {
            return false;
        }

        state.Registers[insn.Dst] = a;
        if (insn.HasRegisterSource)
        {
            state.Registers[insn.Src] = b;
        }

        return Propagate(state, a) && (!insn.HasRegisterSource || Propagate(state, b)) && RecordSum(state, state.Registers[insn.Dst])
            && (!insn.HasRegisterSource || RecordSum(state, state.Registers[insn.Src]));
    }

    /// <summary>A value at least <c>min</c> and at most <c>len + c</c> proves <c>len &gt;= min - c</c>; false when that exceeds the largest input.</summary>
    private static bool ImpliesLength(AbstractState state, in AbstractValue value)
    {
        if (value.Kind == ValueKind.Scalar && value.LenUpper is { } c && IsSmall(value.Num))
        {
            state.MinLength = Math.Max(state.MinLength, value.Num.SMin - c);
        }

        return state.MinLength <= MaxInputLength;
    }

    /// <summary>Carries what a comparison taught about <paramref name="known"/> to every value linked to it; false when one becomes impossible.</summary>
    private static bool Propagate(AbstractState state, in AbstractValue known)
    {
        if (known.Kind is not (ValueKind.Scalar or ValueKind.Input) || known.LinkId == 0 || !IsSmall(known.Num))
        {
            return true;
        }

        for (int r = 0; r < state.Registers.Length; r++)
        {
            var other = state.Registers[r];
            if (other.LinkId == known.LinkId && other != known && other.Kind is ValueKind.Scalar or ValueKind.Input)
            {
                var moved = other.Kind == known.Kind && other.LinkStride == known.LinkStride ? Shifted(known, other) : Strided(known, other);
                if (moved is not { } shifted)
                {
                    return false;
                }

                state.Registers[r] = shifted;
            }
        }

        return true;
    }

    /// <summary>
    /// <paramref name="other"/> (<c>k * X + e</c>) narrowed by <paramref name="known"/> (<c>X + d</c>, stride 1), so
    /// <c>other = k * known + (e - k * d)</c>: its range, and an upper relation to the length from the known value's
    /// scaled relation of scale k (or its plain one when k is 1). Unchanged when the known value has another stride or
    /// the numbers are too large; null when the narrowed range is empty (the path is impossible).
    /// </summary>
    private static AbstractValue? Strided(in AbstractValue known, in AbstractValue other)
    {
        long k = other.LinkStride;
        long e = other.LinkDelta - (k * known.LinkDelta);
        if (known.LinkStride != 1 || k is < 1 or > MaxStride || !IsSmall(known.Num) || Math.Abs(known.LinkDelta) > SmallLimit || Math.Abs(other.LinkDelta) > SmallLimit)
        {
            return other;
        }

        var num = new ScalarRange(
            Math.Max((k * known.Num.SMin) + e, other.Num.SMin), Math.Min((k * known.Num.SMax) + e, other.Num.SMax), other.Num.UMin, other.Num.UMax, other.Num.Bits).Normalize();
        if (num is null)
        {
            return null;
        }

        long? upper = k == 1 ? known.LenUpper + e : null;
        if (known.LenScale == k && Math.Abs(known.ScaledUpper) <= SmallLimit)
        {
            upper = Min(upper, known.ScaledUpper + e);
        }

        return other with { Num = num.Value, LenUpper = Min(other.LenUpper, upper) };
    }

    /// <summary><paramref name="other"/> narrowed by <paramref name="known"/>, which differs from it by a known constant.</summary>
    private static AbstractValue? Shifted(in AbstractValue known, in AbstractValue other)
    {
        long d = other.LinkDelta - known.LinkDelta;
        var moved = known.Num.Add(ScalarRange.Constant((ulong)d));
        var bits = moved.Bits.Intersect(other.Num.Bits);
        if (bits is null)
        {
            return null;
        }

        var num = new ScalarRange(
            Math.Max(moved.SMin, other.Num.SMin), Math.Min(moved.SMax, other.Num.SMax), Math.Max(moved.UMin, other.Num.UMin), Math.Min(moved.UMax, other.Num.UMax), bits.Value).Normalize();
        if (num is null)
        {
            return null;
        }

        return other with
        {
            Num = num.Value,
            LenUpper = Min(other.LenUpper, known.LenUpper + d),
            LenLower = Max(other.LenLower, known.LenLower + d),
        };
    }

    /// <summary>After a comparison with 0, every copy of one lookup result (or socket pointer) becomes null (the number 0) or the pointer it may be.</summary>
    private static void ResolveNull(AbstractState state, int register, in AbstractValue value, bool isNull)
    {
        var resolved = isNull ? AbstractValue.Constant(0) : value with { Kind = AbstractValue.NonNull(value.Kind), NullId = 0 };
        if (value.NullId == 0)
        {
            state.Registers[register] = resolved;
            return;
        }

        int id = value.NullId;
        for (int r = 0; r < state.Registers.Length; r++)
        {
            if (state.Registers[r].Kind == value.Kind && state.Registers[r].NullId == id)
            {
                state.Registers[r] = resolved;
            }
        }

        foreach (var frame in state.Frames)
        {
            for (int i = 0; i < frame.Spills.Length; i++)
            {
                if (frame.Bytes[i * 8] == StackByte.Spill && frame.Spills[i].Kind == value.Kind && frame.Spills[i].NullId == id)
                {
                    frame.WritableSpills[i] = resolved;
                }
            }
        }
    }

    /// <summary>Offsets for which comparing addresses compares offsets (no wrap-around for any user-space base address).</summary>
    private static bool IsAddressRange(in ScalarRange offset) => offset.SMin >= 0 && offset.SMax <= SmallLimit;

    private static bool IsUnsignedOrEquality(Operation op) => op is Operation.Jeq or Operation.Jne or Operation.Jgt or Operation.Jge or Operation.Jlt or Operation.Jle;

    /// <summary>The jump taken exactly when <paramref name="op"/>'s is not (jset: itself; the caller passes notSet).</summary>
    internal static Operation Negate(Operation op) => op switch
    {
        Operation.Jeq => Operation.Jne,
        Operation.Jne => Operation.Jeq,
        Operation.Jgt => Operation.Jle,
        Operation.Jle => Operation.Jgt,
        Operation.Jge => Operation.Jlt,
        Operation.Jlt => Operation.Jge,
        Operation.Jsgt => Operation.Jsle,
        Operation.Jsle => Operation.Jsgt,
        Operation.Jsge => Operation.Jslt,
        Operation.Jslt => Operation.Jsge,
        _ => op, // jset: the caller passes notSet
    };

    /// <summary>The ranges of both operands where <c>a op b</c> holds; null when it never does.</summary>
    internal static (ScalarRange A, ScalarRange B)? RefineRanges(Operation op, bool notSet, ScalarRange a, ScalarRange b)
    {
        switch (op)
        {
            case Operation.Jeq:
                var bits = a.Bits.Intersect(b.Bits);
                if (bits is null)
                {
                    return null;
                }

                var both = new ScalarRange(Math.Max(a.SMin, b.SMin), Math.Min(a.SMax, b.SMax), Math.Max(a.UMin, b.UMin), Math.Min(a.UMax, b.UMax), bits.Value).Normalize();
                return both is { } x ? (x, x) : null;
            case Operation.Jne:
                if (a.IsConstant && b.IsConstant)
                {
                    return a.UMin == b.UMin ? null : (a, b);
                }

                return Both(b.IsConstant ? Exclude(a, b.UMin) : a, a.IsConstant ? Exclude(b, a.UMin) : b);
            case Operation.Jgt or Operation.Jge:
                ulong strict = op == Operation.Jgt ? 1ul : 0;
                if ((strict == 1 && (b.UMin == ulong.MaxValue || a.UMax == 0)))
                {
                    return null;
                }

                return Both(a with { UMin = Math.Max(a.UMin, b.UMin + strict) }, b with { UMax = Math.Min(b.UMax, a.UMax - strict) });
            case Operation.Jlt or Operation.Jle:
                var swapped = RefineRanges(op == Operation.Jlt ? Operation.Jgt : Operation.Jge, false, b, a);
                return swapped is var (sb, sa) ? (sa, sb) : null;
            case Operation.Jsgt or Operation.Jsge:
                long s = op == Operation.Jsgt ? 1 : 0;
                if (s == 1 && (b.SMin == long.MaxValue || a.SMax == long.MinValue))
                {
                    return null;
                }

                return Both(a with { SMin = Math.Max(a.SMin, b.SMin + s) }, b with { SMax = Math.Min(b.SMax, a.SMax - s) });
            case Operation.Jslt or Operation.Jsle:
                var swappedSigned = RefineRanges(op == Operation.Jslt ? Operation.Jsgt : Operation.Jsge, false, b, a);
                return swappedSigned is var (ssb, ssa) ? (ssa, ssb) : null;
            default: // jset
                if (!notSet)
                {
                    return (a.Bits.Max & b.Bits.Max) == 0 ? null : (a, b);
                }

                if (!b.IsConstant)
                {
                    return (a, b);
                }

                ulong k = b.UMin;
                return (a.Bits.Value & k) != 0 ? null : Both(a with { Bits = new Tnum(a.Bits.Value, a.Bits.Mask & ~k) }, b);
        }
    }

    private static (ScalarRange, ScalarRange)? Both(ScalarRange a, ScalarRange b) =>
        a.Normalize() is { } na && b.Normalize() is { } nb ? (na, nb) : null;

    private static ScalarRange Exclude(ScalarRange a, ulong value)
    {
        if (a.UMin == value)
        {
            a = a with { UMin = value + 1 };
        }
        else if (a.UMax == value)
        {
            a = a with { UMax = value - 1 };
        }

        if (a.SMin == (long)value)
        {
            a = a with { SMin = (long)value + 1 };
        }
        else if (a.SMax == (long)value)
        {
            a = a with { SMax = (long)value - 1 };
        }

        return a;
    }

    /// <summary>
    /// Carries a comparison into the relations with the input length: from <c>x + k &lt;= y &lt;= len + c</c> follows
    /// <c>x &lt;= len + c - k</c> and <c>len &gt;= min(x) + k - c</c>. Only for values in a range where machine
    /// comparison is integer comparison. False when the relations make the branch impossible.
    /// </summary>
    private static bool Relate(AbstractState state, Operation op, ref AbstractValue a, ref AbstractValue b)
    {
        bool unsigned = IsUnsignedOrEquality(op);
        bool exact = IsSmall(a.Num) && IsSmall(b.Num) && (!unsigned || (a.Num.SMin >= 0 && b.Num.SMin >= 0));
        if (!exact)
        {
            return true;
        }

        return op switch
        {
            Operation.Jle or Operation.Jsle => AtMost(state, ref a, ref b, 0),
            Operation.Jlt or Operation.Jslt => AtMost(state, ref a, ref b, 1),
            Operation.Jge or Operation.Jsge => AtMost(state, ref b, ref a, 0),
            Operation.Jgt or Operation.Jsgt => AtMost(state, ref b, ref a, 1),
            Operation.Jeq => AtMost(state, ref a, ref b, 0) && AtMost(state, ref b, ref a, 0),
            _ => true,
        };
    }

    /// <summary>Records <c>x + k &lt;= y</c>.</summary>
    private static bool AtMost(AbstractState state, ref AbstractValue x, ref AbstractValue y, long k)
    {
        if (y.LenUpper is { } c)
        {
            if (x.LenLower is { } l && l + k > c)
            {
                return false;
            }

            x = x with { LenUpper = Min(x.LenUpper, c - k) };
            state.MinLength = Math.Max(state.MinLength, x.Num.SMin + k - c);
            if (state.MinLength > MaxInputLength)
            {
                return false;
            }
        }

        if (y.LenScale > 0 && Math.Abs(y.ScaledUpper) <= SmallLimit && (x.LenScale == 0 || x.LenScale == y.LenScale))
        {
            // d * x <= d * (y - k) <= len + c - d * k
            int d = y.LenScale;
            long scaled = y.ScaledUpper - (d * k);
            x = x.WithScaled(d, x.LenScale == d ? Math.Min(x.ScaledUpper, scaled) : scaled);
            x = x with { LenUpper = Min(x.LenUpper, x.ScaledAsUpper(state.MinLength)) };
            state.MinLength = Math.Max(state.MinLength, (d * (x.Num.SMin + k)) - y.ScaledUpper);
            if (state.MinLength > MaxInputLength)
            {
                return false;
            }
        }

        if (x.LenLower is { } lower)
        {
            y = y with { LenLower = Max(y.LenLower, lower + k) };
        }

        return true;
    }
}
