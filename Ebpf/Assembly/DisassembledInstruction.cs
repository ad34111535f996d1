namespace Ebpf.Assembly;

/// <summary>One line of a disassembly listing: an instruction (one slot, or two for <c>lddw</c>), or trailing bytes.</summary>
/// <param name="Pc">The index of the instruction's first slot.</param>
/// <param name="SlotCount">How many slots the line covers: 1, 2 for <c>lddw</c>, 0 for trailing bytes that form no slot.</param>
/// <param name="Bytes">The raw bytes the line covers.</param>
/// <param name="Text">
/// The canonical assembly text (see <see cref="Isa.InstructionFormatter"/>); for trailing bytes a <c>#</c> comment naming them.
/// </param>
public sealed record DisassembledInstruction(int Pc, int SlotCount, byte[] Bytes, string Text)
{
    /// <summary>True when the line is a real instruction (not <c>.slot</c> raw data and not trailing bytes).</summary>
    public bool IsInstruction => SlotCount > 0 && !Text.StartsWith(Isa.InstructionFormatter.SlotDirective, StringComparison.Ordinal);
}
