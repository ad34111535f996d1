using System.Buffers.Binary;
using Ebpf.Maps;

namespace Ebpf.Elf;

/// <summary>Reads the maps an object declares: legacy <c>maps</c>, BTF-defined <c>.maps</c>, and global data sections.</summary>
internal static class ElfMapReader
{
    public const string LegacySection = "maps";
    public const string BtfSection = ".maps";
    private const int LegacyMinimumSize = 16;

    private static readonly Dictionary<uint, string> NoPrograms = [];

    public static List<ElfMap> Read(ElfFile file)
    {
        var maps = new List<ElfMap>();
        foreach (var section in file.Sections)
        {
            if (section.Name == LegacySection && section.Type == ElfSection.TypeProgBits)
            {
                ReadLegacy(file, section, maps);
            }
        }

        foreach (var section in file.Sections)
        {
            if (section.Name == BtfSection && section.Type == ElfSection.TypeProgBits)
            {
                ReadBtf(file, section, maps);
            }
        }

        foreach (var section in file.Sections)
        {
            if (section.IsGlobalData && section.Size != 0)
            {
                maps.Add(GlobalData(section));
            }
        }

        var names = new HashSet<string>();
        foreach (var map in maps)
        {
            if (!names.Add(map.Name))
            {
                throw new EbpfElfException($"section {map.Section}, offset 0x{map.Offset:x}", $"a second map is named '{map.Name}'");
            }
        }

        return maps;
    }

    private static List<ElfSymbol> ObjectsIn(ElfFile file, ElfSection section) =>
        file.Symbols
            .Where(s => s.SectionIndex == section.Index && s.Type is ElfSymbol.TypeObject or ElfSymbol.TypeNoType && s.Name.Length != 0)
            .OrderBy(s => s.Value)
            .ToList();

    private static void ReadLegacy(ElfFile file, ElfSection section, List<ElfMap> maps)
    {
        var symbols = ObjectsIn(file, section);
        if (symbols.Count == 0)
        {
            if (section.Size != 0)
            {
                throw new EbpfElfException(section.Describe(), "map definitions without symbols naming them");
            }

            return;
        }

        if (section.Size % (ulong)symbols.Count != 0)
        {
            throw new EbpfElfException(section.Describe(), $"size {section.Size} is not a multiple of the {symbols.Count} map definitions it holds");
        }

        ulong size = section.Size / (ulong)symbols.Count;
        if (size < LegacyMinimumSize)
        {
            throw new EbpfElfException(section.Describe(), $"map definitions of {size} bytes are shorter than struct bpf_map_def ({LegacyMinimumSize} bytes)");
        }

        foreach (var symbol in symbols)
        {
            string where = $"{section.Describe()}, offset 0x{symbol.Value:x} (map '{symbol.Name}')";
            if (symbol.Value > section.Size || section.Size - symbol.Value < size)
            {
                throw new EbpfElfException(where, $"the {size}-byte definition runs past the end of the section ({section.Size} bytes)");
            }

            var d = section.Data.AsSpan((int)symbol.Value, (int)size);
            var definition = new MapDefinition(
                symbol.Name,
                (BpfMapType)BinaryPrimitives.ReadUInt32LittleEndian(d),
                BinaryPrimitives.ReadUInt32LittleEndian(d[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(d[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(d[12..]),
                size >= 20 ? BinaryPrimitives.ReadUInt32LittleEndian(d[16..]) : 0);
            maps.Add(Checked(definition, where) with { Section = section.Name, Offset = symbol.Value, Size = size, SectionIndex = section.Index });
        }
    }

    private static void ReadBtf(ElfFile file, ElfSection section, List<ElfMap> maps)
    {
        var symbols = ObjectsIn(file, section);
        if (symbols.Count == 0)
        {
            return;
        }

        var btfSection = file.Sections.FirstOrDefault(s => s.Name == ".BTF")
            ?? throw new EbpfElfException(section.Describe(), "BTF-defined maps need the .BTF section (compile with -g)");
        var btf = BtfReader.Parse(btfSection);
        var relocations = file.RelocationsFor(section);
        var declared = new List<(ElfMap Map, ulong ValuesOffset)>();
        foreach (var symbol in symbols)
        {
            string where = $"{section.Describe()}, offset 0x{symbol.Value:x} (map '{symbol.Name}')";
            uint variable = btf.FindVariableType(symbol.Name);
            if (variable == 0)
            {
                throw new EbpfElfException(where, "no BTF variable describes this map");
            }

            var (definition, valuesOffset) = Definition(btf, btf.Resolve(variable), symbol.Name, where, depth: 0);
            var map = Checked(definition, where)
                with { Section = section.Name, Offset = symbol.Value, Size = symbol.Size, SectionIndex = section.Index };
            declared.Add((map, valuesOffset ?? ulong.MaxValue));
        }

        var initial = declared.ToDictionary(d => d.Map.Name, _ => new Dictionary<uint, string>());
        foreach (var relocation in relocations)
        {
            if (relocation.Type == ElfRelocation.None)
            {
                continue;
            }

            var (map, valuesOffset) = declared.LastOrDefault(d => d.Map.Offset <= relocation.Offset);
            if (map is null || relocation.Offset - map.Offset >= Math.Max(map.Size, 1))
            {
                throw new EbpfElfException(relocation.Where, "the relocation does not fall inside a map definition");
            }

            bool holdsMaps = map.Definition.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps;
            if (relocation.Type != ElfRelocation.BpfAbs64 || !(holdsMaps || map.Definition.Type == BpfMapType.ProgramArray) || valuesOffset == ulong.MaxValue)
            {
                throw new EbpfElfException(relocation.Where, $"relocation type {relocation.Type} in map '{map.Name}': only program arrays and maps of maps can be initialised (with R_BPF_64_ABS64 entries of .values)");
            }

            ulong within = relocation.Offset - map.Offset;
            if (within < valuesOffset || (within - valuesOffset) % 8 != 0 || (within - valuesOffset) / 8 >= map.Definition.MaxEntries)
            {
                throw new EbpfElfException(relocation.Where, $"offset {within} in map '{map.Name}' is not an entry of its .values");
            }

            var target = relocation.Symbol;
            var targetSection = file.SectionOf(target, relocation.Where);
            if (holdsMaps)
            {
                if (targetSection.Index != section.Index || !declared.Any(d => d.Map.Name == target.Name))
                {
                    throw new EbpfElfException(relocation.Where, $"{target.Describe()} is not a map of {BtfSection}, so it cannot be an inner map");
                }

                initial[map.Name][(uint)((within - valuesOffset) / 8)] = target.Name;
                continue;
            }

            if (target.Type != ElfSymbol.TypeFunction || !targetSection.IsCode)
            {
                throw new EbpfElfException(relocation.Where, $"{target.Describe()} is not a function, so it cannot be a tail-call target");
            }

            initial[map.Name][(uint)((within - valuesOffset) / 8)] = target.Name;
        }

        foreach (var (map, _) in declared)
        {
            var entries = initial[map.Name];
            maps.Add(entries.Count == 0 ? map
                : map.Definition.Type == BpfMapType.ProgramArray ? map with { InitialPrograms = entries }
                : map with { InitialInnerMaps = entries });
        }
    }

    /// <summary>The map definition a BTF struct declares, and the byte offset of its <c>values</c> member if any.</summary>
    private static (MapDefinition Definition, ulong? ValuesOffset) Definition(BtfReader btf, BtfType type, string name, string where, int depth)
    {
        if (type.Kind != BtfType.KindStruct)
        {
            throw new EbpfElfException(where, $"the BTF type of the map{(depth == 0 ? string.Empty : "'s inner map")} is kind {type.Kind}, not a struct");
        }

        uint mapType = 0, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0;
        ulong? valuesOffset = null;
        MapDefinition? innerMap = null;
        foreach (var member in type.Members)
        {
            switch (member.Name)
            {
                case "type": mapType = Number(btf, member, where); break;
                case "key_size": keySize = Number(btf, member, where); break;
                case "value_size": valueSize = Number(btf, member, where); break;
                case "max_entries": maxEntries = Number(btf, member, where); break;
                case "map_flags": flags = Number(btf, member, where); break;
                case "key": keySize = PointeeSize(btf, member, where); break;
                case "value": valueSize = PointeeSize(btf, member, where); break;
                case "values":
                    valuesOffset = member.BitOffset / 8;
                    innerMap = InnerTemplate(btf, member, name, where, depth);
                    break;
                default: break;
            }
        }

        if (mapType is (uint)BpfMapType.ProgramArray or (uint)BpfMapType.ArrayOfMaps or (uint)BpfMapType.HashOfMaps)
        {
            keySize = keySize == 0 ? 4 : keySize;
            valueSize = valueSize == 0 ? 4 : valueSize;
        }

        bool holdsMaps = mapType is (uint)BpfMapType.ArrayOfMaps or (uint)BpfMapType.HashOfMaps;
        return (new MapDefinition(name, (BpfMapType)mapType, keySize, valueSize, maxEntries, flags) { InnerMap = holdsMaps ? innerMap : null }, valuesOffset);
    }

    /// <summary><c>__array(values, struct inner)</c> is an array of pointers to the inner map's definition; null when the pointee is not a struct (program arrays).</summary>
    private static MapDefinition? InnerTemplate(BtfReader btf, BtfMember member, string name, string where, int depth)
    {
        var array = btf.Resolve(member.Type);
        var pointer = array.Kind == BtfType.KindArray ? btf.Resolve(array.ArrayElementType) : null;
        var pointee = pointer?.Kind == BtfType.KindPtr ? btf.Resolve(pointer.SizeOrType) : null;
        if (pointee?.Kind != BtfType.KindStruct)
        {
            return null;
        }

        if (depth > 0)
        {
            throw new EbpfElfException(where, "an inner map cannot itself hold maps");
        }

        var inner = Definition(btf, pointee, name + ".inner", where, depth + 1).Definition;
        return inner.Validate() is { } problem ? throw new EbpfElfException(where, $"inner map template: {problem}") : inner;
    }

    private static ElfMap GlobalData(ElfSection section)
    {
        string where = section.Describe();
        if (section.Size > MapDefinition.MaxValueSize)
        {
            throw new EbpfElfException(where, $"{section.Size} bytes of global data exceed the {MapDefinition.MaxValueSize}-byte limit");
        }

        var definition = new MapDefinition(
            section.Name, BpfMapType.Array, 4, (uint)section.Size, 1, section.IsReadOnlyData ? MapDefinition.ReadOnlyProgramFlag : 0);
        byte[] value = section.Type == ElfSection.TypeNoBits ? new byte[section.Size] : section.Data;
        return Checked(definition, where) with
        {
            Section = section.Name,
            Size = section.Size,
            IsGlobalData = true,
            InitialValue = value,
            SectionIndex = section.Index,
        };
    }

    private static ElfMap Checked(MapDefinition definition, string where)
    {
        if (definition.Validate() is { } problem)
        {
            throw new EbpfElfException(where, problem);
        }

        return new ElfMap(definition, string.Empty, 0, 0, false, ReadOnlyMemory<byte>.Empty, NoPrograms);
    }

    /// <summary><c>__uint(name, N)</c> is a pointer to an array of N elements.</summary>
    private static uint Number(BtfReader btf, BtfMember member, string where)
    {
        var pointer = btf.Resolve(member.Type);
        var array = pointer.Kind == BtfType.KindPtr ? btf.Resolve(pointer.SizeOrType) : null;
        if (array is null || array.Kind != BtfType.KindArray)
        {
            throw new EbpfElfException(where, $"member '{member.Name}' is not declared with __uint (a pointer to an array)");
        }

        return array.ArrayCount;
    }

    /// <summary><c>__type(name, T)</c> is a pointer to T.</summary>
    private static uint PointeeSize(BtfReader btf, BtfMember member, string where)
    {
        var pointer = btf.Resolve(member.Type);
        if (pointer.Kind != BtfType.KindPtr)
        {
            throw new EbpfElfException(where, $"member '{member.Name}' is not declared with __type (a pointer)");
        }

        ulong size = btf.SizeOf(pointer.SizeOrType);
        return size > uint.MaxValue
            ? throw new EbpfElfException(where, $"member '{member.Name}' has a type of {size} bytes")
            : (uint)size;
    }
}
