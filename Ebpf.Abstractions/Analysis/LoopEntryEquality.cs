namespace Ebpf.Analysis;

/// <summary>
/// A condition a guarded loop needs on entry: <c>Register == Source + Delta</c>. A register that each iteration sets to
/// another induction register plus a constant (clang keeps such copies, e.g. <c>r0 = r6</c> after <c>r6 += 2</c>) moves
/// by that register's step from the first iteration on only when it already had that relation on entry; the guard
/// tests it and runs the checked loop when it does not hold.
/// </summary>
/// <param name="Register">The copied register.</param>
/// <param name="Source">The induction register it is set from.</param>
/// <param name="Delta">The difference it must have on entry.</param>
internal sealed record LoopEntryEquality(int Register, int Source, long Delta);
