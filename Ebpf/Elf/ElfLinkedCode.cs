namespace Ebpf.Elf;

/// <summary>A linked program's slots with, per slot, the section and byte offset it came from, and the names its relocations referred to (by pc).</summary>
internal sealed record ElfLinkedCode(
    Isa.Instruction[] Instructions,
    (ElfSection Section, ulong Offset)[] Origins,
    IReadOnlyDictionary<int, string> Symbols);
