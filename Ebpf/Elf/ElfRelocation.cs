namespace Ebpf.Elf;

/// <summary>One relocation entry (<c>Elf64_Rel</c>): where, which symbol, which type.</summary>
internal readonly record struct ElfRelocation(int Entry, ulong Offset, ElfSymbol Symbol, uint Type, string Where)
{
    public const uint None = 0;
    public const uint Bpf64_64 = 1;
    public const uint BpfAbs64 = 2;
    public const uint BpfAbs32 = 3;
    public const uint BpfNoDyld32 = 4;
    public const uint Bpf64_32 = 10;
}
