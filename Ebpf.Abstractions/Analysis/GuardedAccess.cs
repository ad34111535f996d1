namespace Ebpf.Analysis;

/// <summary>
/// A load or store inside a guarded loop whose address on iteration <c>n</c> (counted from 0 at the loop's entry) is
/// exactly <c>Address(registers at entry) + n * Step</c>, modulo 2^64. The guard before the loop works out from it how
/// many iterations keep the access inside <see cref="Region"/>.
/// </summary>
/// <param name="Pc">The access.</param>
/// <param name="Region">The region its run-time check compares against inline (the one the guard tests).</param>
/// <param name="Size">The access size in bytes.</param>
/// <param name="Address">The address on the first iteration, in terms of the registers on entry to the loop.</param>
/// <param name="Step">How much the address moves per iteration (wrapping; never <see cref="long.MinValue"/>).</param>
internal sealed record GuardedAccess(int Pc, AccessRegion Region, int Size, LinearForm Address, long Step);
