namespace Ebpf.Elf;

/// <summary>One section of a parsed object: its header fields and (for sections with file contents) its bytes.</summary>
internal sealed record ElfSection(
    int Index,
    string Name,
    uint Type,
    ulong Flags,
    ulong Offset,
    ulong Size,
    uint Link,
    uint Info,
    ulong EntrySize,
    byte[] Data)
{
    public const uint TypeProgBits = 1;
    public const uint TypeSymTab = 2;
    public const uint TypeRela = 4;
    public const uint TypeNoBits = 8;
    public const uint TypeRel = 9;
    public const ulong FlagWrite = 0x1;
    public const ulong FlagAlloc = 0x2;
    public const ulong FlagExecInstr = 0x4;

    /// <summary>True for a section of instructions.</summary>
    public bool IsCode => Type == TypeProgBits && (Flags & FlagExecInstr) != 0;

    /// <summary>True for <c>.data*</c>, <c>.rodata*</c> and <c>.bss*</c> sections that occupy memory.</summary>
    public bool IsGlobalData =>
        (Flags & FlagAlloc) != 0
        && (Flags & FlagExecInstr) == 0
        && (Type == TypeProgBits || Type == TypeNoBits)
        && (IsNamed(".data") || IsNamed(".rodata") || IsNamed(".bss"));

    /// <summary>True for read-only global data (<c>.rodata*</c>).</summary>
    public bool IsReadOnlyData => IsNamed(".rodata");

    /// <summary>Describes the section for error messages.</summary>
    public string Describe() => $"section {(Name.Length == 0 ? "#" + Index : Name)}";

    private bool IsNamed(string prefix) => Name == prefix || Name.StartsWith(prefix + ".", StringComparison.Ordinal);
}
