namespace Ebpf.Building;

/// <summary>An instruction whose jump or call target is a label, patched when the program is built.</summary>
/// <param name="Slot">The slot of the instruction.</param>
/// <param name="Label">The target label.</param>
/// <param name="InImmediate">True when the distance goes in the 32-bit immediate (<c>ja32</c>, local <c>call</c>), false for the 16-bit offset.</param>
internal readonly record struct LabelReference(int Slot, string Label, bool InImmediate);
