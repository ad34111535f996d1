namespace Ebpf.Analysis;

/// <summary>
/// A bound on the sum of two linked numbers (<see cref="AbstractValue.LinkId"/>): <c>X[A] + X[B]</c> (modulo 2^64)
/// lies in <see cref="Range"/>. Recorded when a comparison narrows a value that is such a sum (<c>off + 2 + ihl &lt;= 60</c>)
/// and used when the same two numbers are added again later (<c>off + ihl</c>), though no register kept the first sum.
/// </summary>
/// <param name="A">The smaller link id.</param>
/// <param name="B">The larger link id.</param>
/// <param name="Range">What the sum of the two numbers can be.</param>
internal readonly record struct SumBound(int A, int B, ScalarRange Range);
