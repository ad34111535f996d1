namespace Ebpf.Elf;

/// <summary>A program found in an ELF object: a function symbol in a code section (or a whole code section without symbols).</summary>
/// <param name="Name">The function's name (the section name when the section has no function symbols).</param>
/// <param name="Section">The section, e.g. <c>xdp</c>, <c>classifier</c>, <c>socket</c> or <c>.text</c>.</param>
/// <param name="Offset">The byte offset of the function in its section.</param>
/// <param name="Size">The size of the function in bytes.</param>
public sealed record ElfProgramInfo(string Name, string Section, ulong Offset, ulong Size)
{
    /// <summary>True for functions of <c>.text</c>: usually local functions (subprograms) that other programs call.</summary>
    public bool IsSubprogram => Section == ".text";

    /// <inheritdoc />
    public override string ToString() => $"{Name} (section {Section}, {Size / 8} slots)";
}
