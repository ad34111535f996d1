using System.Collections.Immutable;
using System.Text;

namespace Ebpf.Analysis;

/// <summary>
/// The abstract machine state at one point of the analysis: r0-r10, the stack frames of the active local calls
/// (innermost last), the smallest input length the path has proven (<see cref="MinLength"/>) and, with a context
/// layout, the smallest packet metadata length it has proven (<see cref="MinMetaLength"/>).
/// </summary>
public sealed class AbstractState
{
    internal AbstractState(AbstractValue[] registers, List<FrameState> frames, long minLength, long minMetaLength = 0, ImmutableSortedSet<int>? reserved = null, ImmutableArray<SumBound> sums = default)
    {
        Sums = sums.IsDefault ? [] : sums;
        Registers = registers;
        Frames = frames;
        MinLength = minLength;
        MinMetaLength = minMetaLength;
        Reserved = reserved ?? [];
    }

    /// <summary>r0-r10.</summary>
    internal AbstractValue[] Registers { get; }

    /// <summary>The frames, entry function first.</summary>
    internal List<FrameState> Frames { get; }

    /// <summary>The input is at least this long on this path.</summary>
    internal long MinLength { get; set; }

    /// <summary>The packet metadata area (from a meta pointer's base to the packet start) is at least this long on this path.</summary>
    internal long MinMetaLength { get; set; }

    /// <summary>The pcs of the <c>bpf_ringbuf_reserve</c> calls whose record the program may still own on this path (not null, not yet submitted or discarded).</summary>
    internal ImmutableSortedSet<int> Reserved { get; set; }

    /// <summary>Bounds on sums of two linked numbers (at most <see cref="MaxSums"/>, ordered by their ids).</summary>
    internal ImmutableArray<SumBound> Sums { get; set; }

    /// <summary>How many sum bounds a state keeps (past it, the one of the oldest links goes first).</summary>
    internal const int MaxSums = 8;

    internal FrameState Top => Frames[^1];

    internal int Depth => Frames.Count - 1;

    /// <summary>A key naming the chain of active calls (their return pcs), so states of different call sites stay apart.</summary>
    internal string CallChain
    {
        get
        {
            if (Frames.Count == 1)
            {
                return string.Empty;
            }

            var text = new StringBuilder();
            for (int i = 1; i < Frames.Count; i++)
            {
                text.Append(Frames[i].ReturnPc).Append(Frames[i].IsCallback ? 'c' : '/');
            }

            return text.ToString();
        }
    }

    internal AbstractState Clone() =>
        new((AbstractValue[])Registers.Clone(), Frames.ConvertAll(f => f.Clone()), MinLength, MinMetaLength, Reserved, Sums);

    internal bool Equivalent(AbstractState other)
    {
        if (MinLength != other.MinLength || MinMetaLength != other.MinMetaLength || Frames.Count != other.Frames.Count || !Registers.AsSpan().SequenceEqual(other.Registers) || !Reserved.SetEquals(other.Reserved) || !Sums.AsSpan().SequenceEqual(other.Sums.AsSpan()))
        {
            return false;
        }

        for (int i = 0; i < Frames.Count; i++)
        {
            if (!Frames[i].Equivalent(other.Frames[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The join of two states with the same call chain.</summary>
    internal AbstractState Join(AbstractState other, bool widen)
    {
        var registers = new AbstractValue[Registers.Length];
        for (int i = 0; i < registers.Length; i++)
        {
            var a = Registers[i];
            var b = other.Registers[i];
            if (a.LenUpper is null && b.LenUpper is not null)
            {
                a = Implied(a, MinLength);
            }
            else if (b.LenUpper is null && a.LenUpper is not null)
            {
                b = Implied(b, other.MinLength);
            }

            if (a.LenScale == 0 && b.LenScale > 0)
            {
                a = ImpliedScaled(a, b.LenScale, MinLength);
            }
            else if (b.LenScale == 0 && a.LenScale > 0)
            {
                b = ImpliedScaled(b, a.LenScale, other.MinLength);
            }

            registers[i] = a.Join(b, widen);
        }

        var frames = new List<FrameState>(Frames.Count);
        for (int i = 0; i < Frames.Count; i++)
        {
            frames.Add(Frames[i].Join(other.Frames[i], widen));
        }

        long minLength = Math.Min(MinLength, other.MinLength);
        if (widen && other.MinLength < MinLength)
        {
            minLength = 0;
        }

        long minMetaLength = widen && other.MinMetaLength < MinMetaLength ? 0 : Math.Min(MinMetaLength, other.MinMetaLength);
        // a record owned on either path may be owned after the join
        return new AbstractState(registers, frames, minLength, minMetaLength, Reserved.Union(other.Reserved), JoinSums(other, widen));
    }

    /// <summary>The bound of <c>X[a] + X[b]</c> (<paramref name="a"/> &lt; <paramref name="b"/>), or null.</summary>
    internal ScalarRange? SumOf(int a, int b)
    {
        foreach (var bound in Sums)
        {
            if (bound.A == a && bound.B == b)
            {
                return bound.Range;
            }
        }

        return null;
    }

    /// <summary>Records <c>X[a] + X[b]</c> in <paramref name="range"/> (already narrowed by any earlier bound).</summary>
    internal void SetSum(int a, int b, ScalarRange range)
    {
        var builder = ImmutableArray.CreateBuilder<SumBound>(Sums.Length + 1);
        foreach (var bound in Sums)
        {
            if (bound.A != a || bound.B != b)
            {
                builder.Add(bound);
            }
        }

        if (builder.Count >= MaxSums)
        {
            builder.RemoveAt(0);
        }

        builder.Add(new SumBound(a, b, range));
        builder.Sort((x, y) => x.A != y.A ? x.A.CompareTo(y.A) : x.B.CompareTo(y.B));
        Sums = builder.ToImmutable();
    }

    /// <summary>Forgets every sum bound that names link <paramref name="id"/> (its number changes meaning).</summary>
    internal void ForgetSums(int id)
    {
        if (Sums.Any(s => s.A == id || s.B == id))
        {
            Sums = Sums.RemoveAll(s => s.A == id || s.B == id);
        }
    }

    /// <summary>The bounds both states have, each joined (or widened).</summary>
    private ImmutableArray<SumBound> JoinSums(AbstractState other, bool widen)
    {
        if (Sums.IsEmpty || other.Sums.IsEmpty)
        {
            return [];
        }

        var builder = ImmutableArray.CreateBuilder<SumBound>();
        foreach (var bound in Sums)
        {
            if (other.SumOf(bound.A, bound.B) is { } range)
            {
                builder.Add(bound with { Range = widen ? bound.Range.Widen(range) : bound.Range.Join(range) });
            }
        }

        return builder.ToImmutable();
    }

    /// <summary>
    /// A bounded value with no upper relation to the input length gets the one its state implies: a value at most
    /// <c>max</c> on a path where <c>len &gt;= MinLength</c> is at most <c>len + max - MinLength</c>. Used before a
    /// join so a loop counter that starts at a constant keeps the bound the loop test gives it later.
    /// </summary>
    private static AbstractValue Implied(in AbstractValue value, long minLength) =>
        value.Kind is ValueKind.Scalar or ValueKind.Input && value.Num.SMin >= -(1L << 40) && value.Num.SMax <= 1L << 40
            ? value with { LenUpper = value.Num.SMax - minLength }
            : value;

    /// <summary>The scaled relation (<see cref="AbstractValue.LenScale"/>) a bounded value implies, as <see cref="Implied"/> does for the plain one: <c>scale * value &lt;= scale * max = len + scale * max - len &lt;= len + scale * max - MinLength</c>.</summary>
    private static AbstractValue ImpliedScaled(in AbstractValue value, int scale, long minLength) =>
        value.Kind is ValueKind.Scalar or ValueKind.Input && value.Num.SMin >= -(1L << 40) && value.Num.SMax <= 1L << 20 && value.Num.SMax >= -(1L << 20)
            ? value.WithScaled(scale, scale * value.Num.SMax - minLength)
            : value;

    /// <summary>The state as one log line: the initialised registers, then the written stack slots of the current frame.</summary>
    public override string ToString() => Snapshot().ToString();

    /// <summary>A copy of what <see cref="ToString"/> shows, formatted only when asked (findings keep one per report).</summary>
    internal StateSnapshot Snapshot() => new(this);
}
