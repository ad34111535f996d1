using Ebpf.Maps;

namespace Ebpf.Elf;

/// <summary>
/// A map an ELF object declares: a legacy <c>maps</c> definition, a BTF-defined <c>.maps</c> entry, or a global
/// data section (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>) which becomes a one-entry array map whose value is the
/// section's contents.
/// </summary>
/// <param name="Definition">Type, sizes, capacity and flags.</param>
/// <param name="Section">The section that declares it.</param>
/// <param name="Offset">The byte offset of the declaration in that section.</param>
/// <param name="Size">The bytes the declaration takes in that section.</param>
/// <param name="IsGlobalData">True for a global data section.</param>
/// <param name="InitialValue">For global data: the initial contents (zeroes for <c>.bss</c>); otherwise empty.</param>
/// <param name="InitialPrograms">For a BTF-defined program array with <c>.values</c>: index to program (function symbol) name.</param>
public sealed record ElfMap(
    MapDefinition Definition,
    string Section,
    ulong Offset,
    ulong Size,
    bool IsGlobalData,
    ReadOnlyMemory<byte> InitialValue,
    IReadOnlyDictionary<uint, string> InitialPrograms)
{
    /// <summary>For a BTF-defined array or hash of maps with <c>.values</c>: u32 key to the name of the inner map (another map of the object).</summary>
    public IReadOnlyDictionary<uint, string> InitialInnerMaps { get; init; } = new Dictionary<uint, string>();

    /// <summary>The index of the declaring section.</summary>
    internal int SectionIndex { get; init; }

    /// <summary>The map's name.</summary>
    public string Name => Definition.Name;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name} ({Definition.Type}, key {Definition.KeySize} B, value {Definition.ValueSize} B, max {Definition.MaxEntries}, section {Section})";
}
