namespace Ebpf.Elf;

/// <summary>One entry of the symbol table.</summary>
internal sealed record ElfSymbol(int Index, string Name, ulong Value, ulong Size, int Type, int Binding, int SectionIndex)
{
    public const int TypeNoType = 0;
    public const int TypeObject = 1;
    public const int TypeFunction = 2;
    public const int TypeSection = 3;

    /// <summary>True when the symbol is not defined in this object (section index 0).</summary>
    public bool IsUndefined => SectionIndex == 0;

    /// <summary>Describes the symbol for error messages.</summary>
    public string Describe() => Name.Length == 0 ? $"symbol #{Index}" : $"symbol '{Name}'";
}
