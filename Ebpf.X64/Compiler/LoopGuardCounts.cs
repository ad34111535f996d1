namespace Ebpf.X64.Compiler;

/// <summary>What a compilation did with the guarded loops of its check plan (see <see cref="Execution.ILoopGuardStatistics"/>).</summary>
/// <param name="Loops">The loops compiled with a guard and an unchecked copy.</param>
/// <param name="Accesses">The accesses the copies run without a check.</param>
/// <param name="WholeRangeLoops">The loops that also got the whole-range copy (no per-iteration count).</param>
internal readonly record struct LoopGuardCounts(int Loops, int Accesses, int WholeRangeLoops);
