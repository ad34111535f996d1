using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    /// <summary>
    /// Gives a 64-bit sum of two linked numbers its sum form (<see cref="AbstractValue.SumA"/>): <c>dst += src</c>
    /// with dst = <c>X[a] + d</c> and src = <c>X[b] + e</c> is <c>X[a] + X[b] + (d + e)</c>, narrowed by what an earlier
    /// comparison proved about that sum (<see cref="AbstractState.Sums"/>). An unlinked source register gets a link of
    /// its own first, so the number it holds can be named later. Adding or subtracting a constant moves the form's
    /// constant. The filter workload's <c>if (off + 2 + ihl + 4 &gt; 64) return 0; ... tcp = ip + ihl</c> needs it:
    /// clang compares one register holding the sum and adds the same two numbers again for the read.
    /// </summary>
    private AbstractValue Sum(AbstractState state, in DecodedInstruction insn, in AbstractValue dst, AbstractValue src, AbstractValue result)
    {
        if (insn.Operation is Operation.Add or Operation.Sub && dst.SumA != 0 && src.Kind == ValueKind.Scalar && src.Num.IsConstant && IsSmall(src.Num))
        {
            long moved = insn.Operation == Operation.Add ? dst.SumDelta + src.Num.SMin : dst.SumDelta - src.Num.SMin;
            return moved is >= int.MinValue and <= int.MaxValue ? result with { SumA = dst.SumA, SumB = dst.SumB, SumDelta = (int)moved } : result.WithoutSum();
        }

        if (insn.Operation == Operation.Mov)
        {
            return result; // a copy: the same number, the same form
        }

        result = result.WithoutSum();
        if (insn.Operation != Operation.Add || !insn.HasRegisterSource || insn.Src == insn.Dst
            || dst.Kind != ValueKind.Scalar || src.Kind != ValueKind.Scalar || dst.LinkId == 0 || dst.LinkStride != 1
            || src.Num.IsConstant || result.Num.IsConstant || !IsSmall(dst.Num) || !IsSmall(src.Num))
        {
            return result;
        }

        if (src.LinkId == 0)
        {
            src = src with { LinkId = ++nextLinkId, LinkDelta = 0, LinkStride = 1 };
            state.Registers[insn.Src] = src;
        }

        long delta = dst.LinkDelta + src.LinkDelta;
        if (src.LinkStride != 1 || src.LinkId == dst.LinkId || delta is < int.MinValue or > int.MaxValue)
        {
            return result;
        }

        int a = Math.Min(dst.LinkId, src.LinkId), b = Math.Max(dst.LinkId, src.LinkId);
        var num = result.Num;
        if (state.SumOf(a, b) is { } known && Intersect(num, known.Add(ScalarRange.Constant((ulong)delta))) is { } narrowed)
        {
            num = narrowed;
        }

        return result with { Num = num, SumA = a, SumB = b, SumDelta = (int)delta };
    }

    /// <summary>
    /// After a comparison narrowed <paramref name="value"/>: when it has a sum form, records what it proved about the
    /// sum and narrows every register holding the same sum; false when one of them becomes impossible.
    /// </summary>
    private static bool RecordSum(AbstractState state, in AbstractValue value)
    {
        if (value.SumA == 0 || value.Kind != ValueKind.Scalar)
        {
            return true;
        }

        var sum = value.Num.Sub(ScalarRange.Constant((ulong)(long)value.SumDelta));
        if (state.SumOf(value.SumA, value.SumB) is { } earlier)
        {
            if (Intersect(sum, earlier) is not { } both)
            {
                return false;
            }

            sum = both;
        }

        state.SetSum(value.SumA, value.SumB, sum);
        for (int r = 0; r < state.Registers.Length; r++)
        {
            var other = state.Registers[r];
            if (other.SumA == value.SumA && other.SumB == value.SumB && other.Kind == ValueKind.Scalar)
            {
                if (Intersect(other.Num, sum.Add(ScalarRange.Constant((ulong)(long)other.SumDelta))) is not { } narrowed)
                {
                    return false;
                }

                state.Registers[r] = other with { Num = narrowed };
            }
        }

        return true;
    }

    /// <summary>An <c>or</c> with a constant whose set bits are known to be clear in the destination: the same as adding it.</summary>
    private static bool IsDisjointOr(in DecodedInstruction insn, in AbstractValue dst, in AbstractValue src) =>
        insn.Operation == Operation.Or && dst.Kind == ValueKind.Scalar && src.Kind == ValueKind.Scalar && src.Num.IsConstant
        && src.Num.UMin <= int.MaxValue && ((dst.Num.Bits.Value | dst.Num.Bits.Mask) & src.Num.UMin) == 0;

    /// <summary>The values in both ranges, or null when there are none.</summary>
    private static ScalarRange? Intersect(in ScalarRange x, in ScalarRange y) =>
        x.Bits.Intersect(y.Bits) is { } bits
            ? new ScalarRange(Math.Max(x.SMin, y.SMin), Math.Min(x.SMax, y.SMax), Math.Max(x.UMin, y.UMin), Math.Min(x.UMax, y.UMax), bits).Normalize()
            : null;
}
