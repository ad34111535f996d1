using System.Globalization;

namespace Ebpf.Analysis;

/// <summary>
/// The abstract value of a register or spilled stack slot: its <see cref="Kind"/>, its number (for scalars) or offset
/// (for pointers) as a <see cref="ScalarRange"/>, and its relation to the input length <c>len</c>:
/// <c>value &lt;= len + LenUpper</c> and <c>value &gt;= len + LenLower</c> when set (e.g. r2 at entry has both 0).
/// </summary>
/// <param name="Kind">The type.</param>
/// <param name="Num">The value of a scalar, the offset of a pointer.</param>
/// <param name="LenUpper">When set, the value (offset) is at most <c>len + LenUpper</c>.</param>
/// <param name="LenLower">When set, the value (offset) is at least <c>len + LenLower</c>.</param>
/// <param name="Frame">For stack pointers, the call depth of the frame (0 for the entry function).</param>
/// <param name="Map">For map values, map pointers and global data, the map (null when unknown).</param>
/// <param name="NullId">For <see cref="ValueKind.MapValueOrNull"/>, the id shared by the copies of one lookup result.</param>
/// <param name="LinkId">For scalars, non-zero when the value is a copy of another plus a constant: all values with
/// this id equal one unknown number plus their <paramref name="LinkDelta"/>, so a comparison that bounds one bounds all.</param>
/// <param name="LinkDelta">What this value adds to the linked number.</param>
public readonly record struct AbstractValue(
    ValueKind Kind, ScalarRange Num, long? LenUpper = null, long? LenLower = null, int Frame = 0, MapShape? Map = null, int NullId = 0, int LinkId = 0, long LinkDelta = 0)
{
    /// <summary>Stands for "no relation" in the stored bounds, so a value is a few plain longs (cheap to copy: states copy registers at every branch).</summary>
    private const long NoRelation = long.MinValue;

    private readonly long lenUpper = LenUpper ?? NoRelation;
    private readonly long lenLower = LenLower ?? NoRelation;

    /// <summary>When set, the value (offset) is at most <c>len + LenUpper</c>.</summary>
    public long? LenUpper
    {
        get => lenUpper == NoRelation ? null : lenUpper;
        init => lenUpper = value ?? NoRelation;
    }

    /// <summary>When set, the value (offset) is at least <c>len + LenLower</c>.</summary>
    public long? LenLower
    {
        get => lenLower == NoRelation ? null : lenLower;
        init => lenLower = value ?? NoRelation;
    }

    /// <summary>
    /// When positive, the value (offset) times this is at most <c>len + </c><see cref="ScaledUpper"/>: e.g. 2 for
    /// <c>half = len / 2</c> (<c>2 * half &lt;= len</c>), kept through adding constants, comparisons and joins, so a
    /// sum of two such values (<c>half + i</c> with <c>i &lt; half</c>) is bounded by the length itself.
    /// </summary>
    public int LenScale { get; init; }

    /// <summary>The constant of the scaled relation (see <see cref="LenScale"/>); meaningless when <see cref="LenScale"/> is 0.</summary>
    public long ScaledUpper { get; init; }

    /// <summary>The value with the scaled relation <c>scale * value &lt;= len + upper</c> (none when <paramref name="scale"/> is 0).</summary>
    internal AbstractValue WithScaled(int scale, long upper) => this with { LenScale = scale, ScaledUpper = scale == 0 ? 0 : upper };

    /// <summary>The value without its relations to the input length (after the length changed).</summary>
    internal AbstractValue WithoutRelations() => (this with { LenUpper = null, LenLower = null }).WithScaled(0, 0);

    /// <summary>
    /// The plain upper relation the scaled one implies on a path where <c>len &gt;= minLength</c>:
    /// <c>value &lt;= floor((len + c) / d)</c>, and <c>floor((len + c) / d) - len</c> shrinks as <c>len</c> grows, so
    /// its value at <c>len = minLength</c> bounds it (null without a scaled relation).
    /// </summary>
    internal long? ScaledAsUpper(long minLength) =>
        LenScale > 0 && Math.Abs(ScaledUpper) <= 1L << 40 ? FloorDiv(minLength + ScaledUpper, LenScale) - minLength : null;

    /// <summary><paramref name="x"/> / <paramref name="d"/> rounded down (<paramref name="d"/> positive).</summary>
    internal static long FloorDiv(long x, long d) => x >= 0 ? x / d : -((-x + d - 1) / d);

    private readonly long linkStrideMinusOne;

    /// <summary>
    /// For a linked value (<see cref="LinkId"/>), what multiplies the linked number: the value is
    /// <c>LinkStride * X + LinkDelta</c> (1 for copies; e.g. 8 for a pointer stepped by 8 beside a counter stepped by 1).
    /// </summary>
    public long LinkStride
    {
        get => linkStrideMinusOne + 1;
        init => linkStrideMinusOne = value - 1;
    }

    /// <summary>
    /// When non-zero (with <see cref="SumB"/>), the value is a sum of two linked numbers plus a constant:
    /// <c>X[SumA] + X[SumB] + SumDelta</c> (modulo 2^64), so a comparison that bounds it bounds that sum
    /// (<see cref="SumBound"/>), and a later sum of the same two numbers gets the bound.
    /// </summary>
    public int SumA { get; init; }

    /// <summary>The second link id of the sum form (see <see cref="SumA"/>), larger than <see cref="SumA"/>.</summary>
    public int SumB { get; init; }

    /// <summary>The constant of the sum form (see <see cref="SumA"/>).</summary>
    public int SumDelta { get; init; }

    /// <summary>The value without its sum form.</summary>
    internal AbstractValue WithoutSum() => this with { SumA = 0, SumB = 0, SumDelta = 0 };

    /// <summary>An unwritten register.</summary>
    public static AbstractValue Uninitialized => new(ValueKind.Uninitialized, ScalarRange.Unknown);

    /// <summary>An initialised value the analysis knows nothing about.</summary>
    public static AbstractValue UnknownValue => new(ValueKind.Unknown, ScalarRange.Unknown);

    /// <summary>Any number.</summary>
    public static AbstractValue AnyScalar => new(ValueKind.Scalar, ScalarRange.Unknown);

    /// <summary>True for the pointer kinds.</summary>
    public bool IsPointer => Kind >= ValueKind.Input;

    /// <summary>True for the kinds that may be null until compared with 0 (a map lookup's result, a socket pointer from the context or a helper).</summary>
    internal static bool IsNullable(ValueKind kind) => kind is ValueKind.MapValueOrNull or ValueKind.SocketOrNull or ValueKind.FullSocketOrNull or ValueKind.TcpSocketOrNull;

    /// <summary>The kind a nullable kind becomes once compared with 0 and found not null (any other kind: itself).</summary>
    internal static ValueKind NonNull(ValueKind kind) => kind switch
    {
        ValueKind.MapValueOrNull => ValueKind.MapValue,
        ValueKind.SocketOrNull => ValueKind.Socket,
        ValueKind.FullSocketOrNull => ValueKind.FullSocket,
        ValueKind.TcpSocketOrNull => ValueKind.TcpSocket,
        _ => kind,
    };

    /// <summary>
    /// True for a pointer to a map's value, or a lookup's result that may be null, of a map (not a ring-buffer record,
    /// whose ownership the analysis tracks per path): joined with null it stays a map value or null.
    /// </summary>
    private static bool IsMapValueJoinableWithNull(in AbstractValue v) =>
        v.Kind is ValueKind.MapValue or ValueKind.MapValueOrNull && v.Map is { IsRingBufferRecord: false };

    /// <summary>True for the number 0 (a null pointer).</summary>
    private bool IsNull => Kind == ValueKind.Scalar && Num.IsConstant && Num.UMin == 0;

    /// <summary>True for the socket pointer kinds, null or not (no arithmetic, loads of the socket layouts' fields only).</summary>
    internal static bool IsSocket(ValueKind kind) =>
        kind is ValueKind.Socket or ValueKind.SocketOrNull or ValueKind.FullSocket or ValueKind.FullSocketOrNull or ValueKind.TcpSocket or ValueKind.TcpSocketOrNull;

    /// <summary>The socket pointer kind that may also be null (<see cref="ValueKind.Socket"/> gives <see cref="ValueKind.SocketOrNull"/>; a nullable kind gives itself).</summary>
    internal static ValueKind OrNull(ValueKind socket) => socket switch
    {
        ValueKind.Socket or ValueKind.SocketOrNull => ValueKind.SocketOrNull,
        ValueKind.TcpSocket or ValueKind.TcpSocketOrNull => ValueKind.TcpSocketOrNull,
        _ => ValueKind.FullSocketOrNull,
    };

    /// <summary>The kernel verifier's name of a socket pointer kind (<c>sock_common</c>, <c>sock</c>, <c>tcp_sock</c>, each also with <c>_or_null</c>).</summary>
    internal static string SocketName(ValueKind kind) => kind switch
    {
        ValueKind.Socket => "sock_common",
        ValueKind.SocketOrNull => "sock_common_or_null",
        ValueKind.FullSocket => "sock",
        ValueKind.TcpSocket => "tcp_sock",
        ValueKind.TcpSocketOrNull => "tcp_sock_or_null",
        _ => "sock_or_null",
    };

    /// <summary>True for pointers into the input (the packet, with a context layout) and the packet-end pointer: their offsets compare.</summary>
    public bool IsPacket => Kind is ValueKind.Input or ValueKind.PacketEnd;

    /// <summary>A number.</summary>
    public static AbstractValue Scalar(ScalarRange range) => new(ValueKind.Scalar, range);

    /// <summary>A known number.</summary>
    public static AbstractValue Constant(ulong value) => Scalar(ScalarRange.Constant(value));

    /// <summary>True when both are the same pointer region (same kind, frame and map), so offsets compare.</summary>
    public bool SameRegion(in AbstractValue other) =>
        (Kind == other.Kind || (IsPacket && other.IsPacket)) && IsPointer && Kind is not (ValueKind.MapPointer or ValueKind.Function) && Frame == other.Frame && ReferenceEquals(Map, other.Map);

    /// <summary>The smallest value holding both (<paramref name="widen"/>: push growing bounds to their extremes).</summary>
    public AbstractValue Join(in AbstractValue other, bool widen)
    {
        if (Kind == ValueKind.Uninitialized || other.Kind == ValueKind.Uninitialized)
        {
            return Uninitialized;
        }

        if (IsSocket(Kind) && other.IsNull || IsSocket(other.Kind) && IsNull)
        {
            // a socket pointer on one path, null (the number 0) on the other: a socket pointer or null, as the kernel
            // keeps the two paths apart (e.g. `flag = sk != NULL; ...; if (sk)`); its own null id, shared with no copy
            var socket = IsSocket(Kind) ? Kind : other.Kind;
            return new AbstractValue(OrNull(socket), ScalarRange.Constant(0));
        }

        if (IsMapValueJoinableWithNull(this) && other.IsNull || IsMapValueJoinableWithNull(other) && IsNull)
        {
            // a map value (or a lookup's result) on one path, null on the other (`v = cond ? lookup : NULL`): a map
            // value or null at the pointer's offset, as the kernel keeps the two paths apart; its own null id
            var pointer = IsNull ? other : this;
            return new AbstractValue(ValueKind.MapValueOrNull, pointer.Num, Frame: pointer.Frame, Map: pointer.Map);
        }

        bool nullable = Kind != other.Kind && NonNull(Kind) == NonNull(other.Kind);
        if (Kind != other.Kind && !nullable || Frame != other.Frame || !ReferenceEquals(Map, other.Map))
        {
            return Kind == ValueKind.Scalar && other.Kind == ValueKind.Scalar ? AnyScalar : UnknownValue;
        }

        var num = widen ? Num.Widen(other.Num) : Num.Join(other.Num);
        long? upper = LenUpper is { } a && other.LenUpper is { } b && (!widen || b <= a) ? Math.Max(a, b) : null;
        long? lower = LenLower is { } c && other.LenLower is { } d && (!widen || d >= c) ? Math.Min(c, d) : null;
        bool scaled = LenScale > 0 && LenScale == other.LenScale && (!widen || other.ScaledUpper <= ScaledUpper);
        var kind = nullable ? (IsNullable(Kind) ? Kind : other.Kind) : Kind;
        bool linked = LinkId == other.LinkId && LinkDelta == other.LinkDelta && LinkStride == other.LinkStride;
        if (upper is { } u && u <= 0 && num.SMin >= 0)
        {
            // the input is at most MaxInputLength long, so the relation bounds the number too (and survives widening)
            num = (num with { SMax = Math.Min(num.SMax, SafetyAnalyzer.MaxInputLength + u) }).Normalize() ?? num;
        }

        bool summed = SumA != 0 && SumA == other.SumA && SumB == other.SumB && SumDelta == other.SumDelta;
        return new AbstractValue(kind, num, upper, lower, Frame, Map, NullId == other.NullId ? NullId : 0, linked ? LinkId : 0, linked ? LinkDelta : 0)
            .WithScaled(scaled ? LenScale : 0, Math.Max(ScaledUpper, other.ScaledUpper)) with
        {
            LinkStride = linked ? LinkStride : 1,
            SumA = summed ? SumA : 0,
            SumB = summed ? SumB : 0,
            SumDelta = summed ? SumDelta : 0,
        };
    }

    /// <inheritdoc />
    public override string ToString()
    {
        string len = (LenUpper, LenLower) switch
        {
            (long u, long l) when u == l => $"=len{Signed(u)}",
            (long u, long l) => $" len{Signed(l)}..len{Signed(u)}",
            (long u, null) => $"<=len{Signed(u)}",
            (null, long l) => $">=len{Signed(l)}",
            _ => string.Empty,
        };
        if (LenScale > 0)
        {
            len += $"{(len.Length > 0 ? ", " : " ")}{LenScale}x<=len{Signed(ScaledUpper)}";
        }

        string map = Map is null ? "?" : Map.Name;
        return Kind switch
        {
            ValueKind.Uninitialized => "uninit",
            ValueKind.Unknown => "unknown",
            ValueKind.Scalar => len.Length > 0 && !Num.IsConstant ? $"scalar({len.TrimStart()}, {Num})" : Num.IsConstant ? Num.ToString() : $"scalar({Num})",
            ValueKind.Input => $"input(off={Num}{(len.Length > 0 ? ", " + len.TrimStart() : string.Empty)})",
            ValueKind.Stack => $"fp{Frame}{(Num.IsConstant ? Signed(Num.SMin) : $"({Num})")}",
            ValueKind.MapValue => $"map_value({map}, off={Num})",
            ValueKind.MapValueOrNull => $"map_value_or_null({map}, off={Num})",
            ValueKind.MapPointer => $"map_ptr({map})",
            ValueKind.Global => $"global({map}, off={Num})",
            ValueKind.Context => $"ctx(off={Num})",
            ValueKind.PacketEnd => "pkt_end",
            ValueKind.Function => $"func({Num})",
            _ when IsSocket(Kind) => SocketName(Kind),
            _ => $"pkt_meta(off={Num})",
        };
    }

    private static string Signed(long x) => x < 0 ? x.ToString(CultureInfo.InvariantCulture) : "+" + x.ToString(CultureInfo.InvariantCulture);
}
