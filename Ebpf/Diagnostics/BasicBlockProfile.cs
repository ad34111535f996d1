namespace Ebpf.Diagnostics;

/// <summary>One basic block of a profile: the slots <c>[Start, End)</c>, how often it was entered and how many instructions ran in it.</summary>
/// <param name="Start">The first slot (a leader: pc 0, a function start, a jump target or the slot after a jump).</param>
/// <param name="End">One past the last slot (after the jump or exit that ends it, or the next leader).</param>
/// <param name="Executions">How often its first instruction executed.</param>
/// <param name="Instructions">The instructions executed inside it in total.</param>
public readonly record struct BasicBlockProfile(int Start, int End, long Executions, long Instructions);
