namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    /// <summary>
    /// At a loop head, finds input pointers that walk beside a counter (<c>p += 8; i += 1</c>, as clang compiles
    /// <c>for (i = 0; i &lt; n; i++) sum += values[i]</c>): when on both joined paths <c>p.offset = k * i + c</c> for the
    /// same k and c (from two pairs of constants on a first join, from the link on later ones), the joined p and i are
    /// linked with stride k (<see cref="AbstractValue.LinkStride"/>), so a comparison that bounds i bounds p: with
    /// <c>i &lt; n</c> and <c>8 * n &lt;= len</c>, <c>p.offset + 8 &lt;= len</c>. The link names a new unknown (i's
    /// value at the loop head), so every other holder of its id loses it.
    /// </summary>
    private void LinkStrides(AbstractState joined, AbstractState a, AbstractState b)
    {
        for (int p = 0; p < 10; p++)
        {
            if (joined.Registers[p].Kind != ValueKind.Input)
            {
                continue;
            }

            for (int i = 0; i < 10; i++)
            {
                if (i == p || joined.Registers[i].Kind != ValueKind.Scalar || Common(Side(a, p, i), Side(b, p, i)) is not var (k, c, id))
                {
                    continue;
                }

                id = id != 0 ? id : ++nextLinkId;
                Unlink(joined, id);
                joined.Registers[i] = joined.Registers[i] with { LinkId = id, LinkDelta = 0, LinkStride = 1 };
                joined.Registers[p] = joined.Registers[p] with { LinkId = id, LinkDelta = c, LinkStride = k };
                if (Strided(joined.Registers[i], joined.Registers[p]) is { } narrowed)
                {
                    joined.Registers[p] = narrowed;
                }

                break;
            }
        }
    }

    /// <summary>What one path says about <c>p.offset</c> against i: a line (k, c, the link's id), a point (both known), or nothing.</summary>
    private static (long K, long C, int Id, bool Line)? Side(AbstractState state, int p, int i)
    {
        var pointer = state.Registers[p];
        var counter = state.Registers[i];
        if (pointer.Kind != ValueKind.Input || counter.Kind != ValueKind.Scalar || !IsSmall(pointer.Num) || !IsSmall(counter.Num))
        {
            return null;
        }

        if (pointer.LinkId != 0 && pointer.LinkId == counter.LinkId && counter.LinkStride == 1 && pointer.LinkStride is >= 1 and <= MaxStride
            && Math.Abs(pointer.LinkDelta) <= SmallLimit && Math.Abs(counter.LinkDelta) <= SmallLimit)
        {
            return (pointer.LinkStride, pointer.LinkDelta - (pointer.LinkStride * counter.LinkDelta), pointer.LinkId, true);
        }

        return pointer.Num.IsConstant && counter.Num.IsConstant ? (pointer.Num.SMin, counter.Num.SMin, 0, false) : null;
    }

    /// <summary>The line both paths agree on (k, c and the id to reuse, 0 for a new one), or null.</summary>
    private static (long K, long C, int Id)? Common((long K, long C, int Id, bool Line)? first, (long K, long C, int Id, bool Line)? second)
    {
        if (first is not { } x || second is not { } y)
        {
            return null;
        }

        (long K, long C, int Id)? line = (x.Line, y.Line) switch
        {
            (true, true) => x.K == y.K && x.C == y.C ? (x.K, x.C, x.Id) : null,
            (true, false) => y.K == (x.K * y.C) + x.C ? (x.K, x.C, x.Id) : null, // a point (p, i) = (K, C) on the line
            (false, true) => x.K == (y.K * x.C) + y.C ? (y.K, y.C, y.Id) : null,
            _ => Through(x.K, x.C, y.K, y.C),
        };
        return line is { K: >= 1 and <= MaxStride } l && Math.Abs(l.C) <= SmallLimit ? l : null;
    }

    /// <summary>The line <c>p = k * i + c</c> through two points with an integer slope, or null.</summary>
    private static (long K, long C, int Id)? Through(long p1, long i1, long p2, long i2)
    {
        if (i1 == i2 || (p2 - p1) % (i2 - i1) != 0)
        {
            return null;
        }

        long k = (p2 - p1) / (i2 - i1);
        return (k, p1 - (k * i1), 0);
    }

    /// <summary>Removes link <paramref name="id"/> (and the sum forms and bounds naming it) from every register, spill and saved caller register of <paramref name="state"/>.</summary>
    private static void Unlink(AbstractState state, int id)
    {
        static AbstractValue free(in AbstractValue v, int id)
        {
            var unlinked = v.LinkId == id ? v with { LinkId = 0, LinkDelta = 0, LinkStride = 1 } : v;
            return v.SumA == id || v.SumB == id ? unlinked.WithoutSum() : unlinked;
        }

        state.ForgetSums(id);
        for (int r = 0; r < state.Registers.Length; r++)
        {
            state.Registers[r] = free(state.Registers[r], id);
        }

        for (int f = 0; f < state.Frames.Count; f++)
        {
            var frame = state.Frames[f];
            for (int s = 0; s < frame.Spills.Length; s++)
            {
                if (frame.Spills[s].LinkId == id || frame.Spills[s].SumA == id || frame.Spills[s].SumB == id)
                {
                    frame.WritableSpills[s] = free(frame.Spills[s], id);
                }
            }

            if (frame.CallerSaved is { } saved && saved.Any(v => v.LinkId == id || v.SumA == id || v.SumB == id))
            {
                state.Frames[f] = frame.WithCallerSaved(Array.ConvertAll(saved, v => free(v, id)));
            }
        }
    }
}
