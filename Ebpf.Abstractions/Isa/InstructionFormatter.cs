namespace Ebpf.Isa;

/// <summary>Formats single instruction slots as canonical assembly text.</summary>
public static class InstructionFormatter
{
    /// <summary>The canonical text of one slot.</summary>
    public static string Format(in Instruction instruction) =>
        $".slot 0x{instruction.ToRaw():x16}";
}
