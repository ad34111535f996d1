namespace Ebpf.Assembly;

/// <summary>A reference to a label, resolved once every label of the text is known.</summary>
/// <param name="Pc">The slot of the instruction to patch.</param>
/// <param name="Label">The label's name.</param>
/// <param name="Line">The line of the reference.</param>
/// <param name="Column">The column of the reference.</param>
/// <param name="InImmediate">True when the distance goes into the 32-bit immediate (<c>ja32</c>, <c>call local</c>), false for the 16-bit offset.</param>
internal readonly record struct LabelFixup(int Pc, string Label, int Line, int Column, bool InImmediate);
