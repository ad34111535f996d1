namespace Ebpf.Analysis;

/// <summary>
/// A test every iteration of a guarded loop passes (a conditional jump on every path from the head back to it) that
/// leaves the loop once a value moving by a constant reaches an invariant one, e.g. checksum's <c>if r7 &lt; r4 goto
/// head</c> with <c>r7 = i + 15</c> and <c>i += 2</c>. From the registers on entry the guard works out how many times
/// at most the test lets the loop go round (<see cref="Stays"/>); when the accesses pass their checks for one arrival
/// at the head more than that, the whole address range of the loop is in bounds, and the loop runs unchecked with no
/// per-iteration count (the whole-range form of <see cref="LoopGuardPlan"/>).
/// </summary>
/// <remarks>
/// Every comparison is brought to one shape: with <c>u = Moving ^ Mask</c> and <c>v = Limit ^ Mask</c> (both in terms
/// of the registers at the head, exact modulo 2^64), the loop stays while <c>u &lt; v</c> (<c>u &lt;= v</c> when
/// <see cref="Inclusive"/>; <c>u != v</c> when <see cref="NotEqual"/>) and <c>u</c> grows by <see cref="Step"/> per
/// iteration. The mask turns the other comparisons into this one: <c>~x</c> reverses the unsigned order (for values
/// that move down), flipping bit 63 turns the signed order into the unsigned one.
/// </remarks>
/// <param name="Pc">The conditional jump.</param>
/// <param name="Moving">The operand that moves, in terms of the registers at the head.</param>
/// <param name="Limit">The operand that does not move.</param>
/// <param name="Step">How much <c>Moving ^ Mask</c> grows per iteration: 1 to 2^30 (1 for <see cref="NotEqual"/>).</param>
/// <param name="Mask">What both operands are XORed with: 0, <c>~0</c>, bit 63, or all bits but 63.</param>
/// <param name="Inclusive">The loop stays while <c>u &lt;= v</c> rather than <c>u &lt; v</c>.</param>
/// <param name="NotEqual">The loop stays while <c>u != v</c>.</param>
internal sealed record TripBound(int Pc, LinearForm Moving, LinearForm Limit, long Step, ulong Mask, bool Inclusive, bool NotEqual)
{
    /// <summary>The largest step the bound accepts (the engines compare with <c>-Step</c> as a 32-bit immediate).</summary>
    public const long MaxStep = 1L << 30;

    /// <summary>
    /// How many times at most the test lets the loop go round when the operands are <paramref name="moving"/> and
    /// <paramref name="limit"/> on the first iteration, or <see cref="ulong.MaxValue"/> when it does not bound the loop
    /// (the moving value could wrap around before it fails the test). The loop then arrives at its head at most
    /// <c>Stays + 1</c> times from one entry. The engines emit this same arithmetic.
    /// </summary>
    public ulong Stays(ulong moving, ulong limit)
    {
        ulong u = moving ^ Mask;
        ulong v = limit ^ Mask;
        if (NotEqual)
        {
            return v - u;
        }

        if (Inclusive)
        {
            if (v == ulong.MaxValue)
            {
                return ulong.MaxValue;
            }

            v++;
        }

        ulong step = (ulong)Step;
        if (v > 0 - step)
        {
            return ulong.MaxValue;
        }

        return u >= v ? 0 : ((v - u - 1) / step) + 1;
    }
}
