using System.Buffers.Binary;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace Ebpf.Elf;

/// <summary>
/// The sections and symbols of a 64-bit little-endian relocatable BPF object. The header and the section header
/// table are checked by hand first (so that a corrupted file is named precisely and never reaches ELFSharp with
/// offsets outside the file); ELFSharp then reads the section names and the symbol table.
/// </summary>
internal sealed class ElfFile
{
    public const int MachineBpf = 247;
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;

    private ElfFile(IReadOnlyList<ElfSection> sections, IReadOnlyList<ElfSymbol> symbols)
    {
        Sections = sections;
        Symbols = symbols;
    }

    public IReadOnlyList<ElfSection> Sections { get; }

    public IReadOnlyList<ElfSymbol> Symbols { get; }

    public static ElfFile Parse(byte[] data)
    {
        var raw = ReadSectionHeaders(data);
        List<ElfSection> sections;
        List<ElfSymbol> symbols;
        try
        {
            if (!ELFReader.TryLoad<ulong>(new MemoryStream(data, writable: false), true, out var elf))
            {
                throw new EbpfElfException("ELF header", "ELFSharp does not recognise the file as a 64-bit ELF object");
            }

            using (elf)
            {
                if (elf.Sections.Count != raw.Count)
                {
                    throw new EbpfElfException("section header table", $"{raw.Count} section headers, but ELFSharp read {elf.Sections.Count}");
                }

                sections = new List<ElfSection>(raw.Count);
                for (int i = 0; i < raw.Count; i++)
                {
                    sections.Add(raw[i] with { Name = elf.Sections[i].Name ?? string.Empty });
                }

                symbols = ReadSymbols(elf, sections);
            }
        }
        catch (EbpfElfException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new EbpfElfException("section header table", $"the sections or symbols cannot be read: {e.Message}", e);
        }

        return new ElfFile(sections, symbols);
    }

    /// <summary>The symbol with index <paramref name="index"/>, or an error naming <paramref name="where"/>.</summary>
    public ElfSymbol Symbol(ulong index, string where) =>
        index < (ulong)Symbols.Count
            ? Symbols[(int)index]
            : throw new EbpfElfException(where, $"symbol index {index} is outside the symbol table ({Symbols.Count} symbols)");

    /// <summary>The section a symbol is defined in, or an error naming <paramref name="where"/>.</summary>
    public ElfSection SectionOf(ElfSymbol symbol, string where)
    {
        if (symbol.IsUndefined)
        {
            throw new EbpfElfException(where, $"{symbol.Describe()} is not defined in this object");
        }

        if (symbol.SectionIndex >= Sections.Count)
        {
            throw new EbpfElfException(where, $"{symbol.Describe()} refers to section index {symbol.SectionIndex}, which does not exist ({Sections.Count} sections)");
        }

        return Sections[symbol.SectionIndex];
    }

    /// <summary>The relocation entries of the REL sections that apply to section <paramref name="target"/>.</summary>
    public List<ElfRelocation> RelocationsFor(ElfSection target)
    {
        var result = new List<ElfRelocation>();
        foreach (var rel in Sections)
        {
            if ((rel.Type != ElfSection.TypeRel && rel.Type != ElfSection.TypeRela) || rel.Info != (uint)target.Index)
            {
                continue;
            }

            if (rel.Type == ElfSection.TypeRela)
            {
                throw new EbpfElfException(rel.Describe(), "RELA relocations are not used by BPF objects");
            }

            if (rel.Size % 16 != 0)
            {
                throw new EbpfElfException(rel.Describe(), $"size {rel.Size} is not a multiple of the 16-byte relocation entry");
            }

            for (int entry = 0; entry < (int)(rel.Size / 16); entry++)
            {
                var bytes = rel.Data.AsSpan(entry * 16, 16);
                ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                ulong info = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
                string where = $"{rel.Describe()}, entry {entry} (offset 0x{offset:x} in {target.Describe()})";
                result.Add(new ElfRelocation(entry, offset, Symbol(info >> 32, where), (uint)info, where));
            }
        }

        return result;
    }

    private static List<ElfSection> ReadSectionHeaders(byte[] data)
    {
        if (data.Length < HeaderSize)
        {
            throw new EbpfElfException("ELF header", $"the file has {data.Length} bytes, fewer than the 64-byte ELF header");
        }

        if (data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
        {
            throw new EbpfElfException("ELF header, offset 0x0", "not an ELF file (bad magic)");
        }

        if (data[4] != 2)
        {
            throw new EbpfElfException("ELF header, offset 0x4", $"class {data[4]}: only 64-bit objects are supported");
        }

        if (data[5] != 1)
        {
            throw new EbpfElfException("ELF header, offset 0x5", $"data encoding {data[5]}: only little-endian objects are supported");
        }

        var header = data.AsSpan();
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        if (type != 1)
        {
            throw new EbpfElfException("ELF header, offset 0x10", $"file type {type}: only relocatable objects (clang -c) are supported");
        }

        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != MachineBpf)
        {
            throw new EbpfElfException("ELF header, offset 0x12", $"machine {machine} is not BPF ({MachineBpf})");
        }

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3a..]);
        ushort shnum = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3c..]);
        ushort shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3e..]);
        if (shentsize != SectionHeaderSize)
        {
            throw new EbpfElfException("ELF header, offset 0x3a", $"section header size {shentsize}, expected {SectionHeaderSize}");
        }

        if (shnum == 0)
        {
            throw new EbpfElfException("ELF header, offset 0x3c", "the object has no sections");
        }

        if (shstrndx >= shnum)
        {
            throw new EbpfElfException("ELF header, offset 0x3e", $"section name table index {shstrndx} is outside the {shnum} sections");
        }

        if (shoff < HeaderSize || shoff > (ulong)data.Length || (ulong)data.Length - shoff < (ulong)shnum * SectionHeaderSize)
        {
            throw new EbpfElfException("ELF header, offset 0x28", $"the section header table (0x{shoff:x}, {shnum} entries) lies outside the file ({data.Length} bytes)");
        }

        var sections = new List<ElfSection>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            var h = header.Slice((int)shoff + (i * SectionHeaderSize), SectionHeaderSize);
            uint sectionType = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
            uint link = BinaryPrimitives.ReadUInt32LittleEndian(h[40..]);
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(h[44..]);
            ulong entrySize = BinaryPrimitives.ReadUInt64LittleEndian(h[56..]);
            byte[] contents = [];
            if (i != 0 && sectionType != 0 && sectionType != ElfSection.TypeNoBits)
            {
                if (offset > (ulong)data.Length || (ulong)data.Length - offset < size)
                {
                    throw new EbpfElfException($"section header #{i}", $"contents at 0x{offset:x} with size 0x{size:x} lie outside the file ({data.Length} bytes)");
                }

                contents = data.AsSpan((int)offset, (int)size).ToArray();
            }

            sections.Add(new ElfSection(i, string.Empty, sectionType, flags, offset, size, link, info, entrySize, contents));
        }

        CheckNameOffsets(header, shoff, sections, sections[shstrndx]);
        return sections;
    }

    /// <summary>Checks that every section and symbol name starts inside its string table (ELFSharp would fail vaguely).</summary>
    private static void CheckNameOffsets(ReadOnlySpan<byte> data, ulong shoff, List<ElfSection> sections, ElfSection names)
    {
        const uint stringTable = 3;
        if (names.Type != stringTable)
        {
            throw new EbpfElfException($"section header #{names.Index}", "the section name table is not a string table");
        }

        for (int i = 0; i < sections.Count; i++)
        {
            uint name = BinaryPrimitives.ReadUInt32LittleEndian(data[((int)shoff + (i * SectionHeaderSize))..]);
            if (name >= names.Size)
            {
                throw new EbpfElfException($"section header #{i}", $"name offset {name} is outside the section name table ({names.Size} bytes)");
            }
        }

        foreach (var table in sections.Where(s => s.Type == ElfSection.TypeSymTab && s.Size % SymbolSize == 0))
        {
            if (table.Link >= (uint)sections.Count || sections[(int)table.Link].Type != stringTable)
            {
                continue;
            }

            ulong size = sections[(int)table.Link].Size;
            for (int entry = 0; entry < table.Data.Length / SymbolSize; entry++)
            {
                uint name = BinaryPrimitives.ReadUInt32LittleEndian(table.Data.AsSpan(entry * SymbolSize));
                if (name >= size && !(name == 0 && size == 0))
                {
                    throw new EbpfElfException($"section #{table.Index} (symbol table), entry {entry}", $"name offset {name} is outside the string table ({size} bytes)");
                }
            }
        }
    }

    private static List<ElfSymbol> ReadSymbols(ELF<ulong> elf, List<ElfSection> sections)
    {
        var tables = sections.Where(s => s.Type == ElfSection.TypeSymTab).ToList();
        if (tables.Count == 0)
        {
            return [];
        }

        if (tables.Count > 1)
        {
            throw new EbpfElfException(tables[1].Describe(), "more than one symbol table");
        }

        var table = tables[0];
        if (table.Size % SymbolSize != 0)
        {
            throw new EbpfElfException(table.Describe(), $"size {table.Size} is not a multiple of the {SymbolSize}-byte symbol entry");
        }

        if (table.Link == 0 || table.Link >= (uint)sections.Count || sections[(int)table.Link].Type != 3)
        {
            throw new EbpfElfException(table.Describe(), $"its string table (section index {table.Link}) is missing or not a string table");
        }

        if (elf.Sections[table.Index] is not SymbolTable<ulong> symbolTable)
        {
            throw new EbpfElfException(table.Describe(), "ELFSharp did not read it as a symbol table");
        }

        var entries = symbolTable.Entries.ToList();
        if ((ulong)entries.Count != table.Size / SymbolSize)
        {
            throw new EbpfElfException(table.Describe(), $"{table.Size / SymbolSize} entries, but ELFSharp read {entries.Count}");
        }

        var symbols = new List<ElfSymbol>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            symbols.Add(new ElfSymbol(i, e.Name ?? string.Empty, e.Value, e.Size, (int)e.Type, (int)e.Binding, e.PointedSectionIndex));
        }

        return symbols;
    }
}
