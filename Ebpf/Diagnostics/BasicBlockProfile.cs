namespace Ebpf.Diagnostics;

/// <summary>One basic block of a profile: the slots <c>[Start, End)</c>, how often it was entered and how many instructions ran in it.</summary>
/// <param name="Start">The first slot of the block (see <see cref="Analysis.BasicBlock"/>).</param>
/// <param name="End">One past the last slot.</param>
/// <param name="Executions">How often its first instruction executed.</param>
/// <param name="Instructions">The instructions executed inside it in total.</param>
public readonly record struct BasicBlockProfile(int Start, int End, long Executions, long Instructions);
