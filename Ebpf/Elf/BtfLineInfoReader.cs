using System.Buffers.Binary;
using Ebpf.Diagnostics;

namespace Ebpf.Elf;

/// <summary>
/// Reads the line information of <c>.BTF.ext</c>: per code section, records of (instruction byte offset, file, line
/// text, line and column) whose strings live in <c>.BTF</c>. An instruction's line is that of the last record at or
/// before it in its section.
/// </summary>
internal static class BtfLineInfoReader
{
    private const ushort Magic = 0xeb9f;
    private const int MinRecordSize = 16;

    /// <summary>The records per section name, sorted by byte offset; empty when the object has no <c>.BTF.ext</c>.</summary>
    /// <exception cref="EbpfElfException">The sections are malformed.</exception>
    public static Dictionary<string, List<(ulong Offset, SourceLine Line)>> Read(ElfFile file)
    {
        var result = new Dictionary<string, List<(ulong Offset, SourceLine Line)>>(StringComparer.Ordinal);
        var ext = file.Sections.FirstOrDefault(s => s.Name == ".BTF.ext");
        var btfSection = file.Sections.FirstOrDefault(s => s.Name == ".BTF");
        if (ext is null || btfSection is null)
        {
            return result;
        }

        var btf = BtfReader.Parse(btfSection);
        string where = ext.Describe();
        var span = ext.Data.AsSpan();
        if (span.Length < 24 || BinaryPrimitives.ReadUInt16LittleEndian(span) != Magic)
        {
            throw new EbpfElfException(where, "not a .BTF.ext section (too short or bad magic)");
        }

        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        uint lineOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
        uint lineLength = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
        ulong start = (ulong)headerLength + lineOffset;
        if (headerLength < 24 || start > (ulong)span.Length || (ulong)span.Length - start < lineLength)
        {
            throw new EbpfElfException(where, $"the line information (offset {lineOffset}, length {lineLength}) lies outside the section ({span.Length} bytes)");
        }

        if (lineLength == 0)
        {
            return result;
        }

        var area = span.Slice((int)start, (int)lineLength);
        int pos = 0;
        uint recordSize = Next(area, ref pos, where);
        if (recordSize < MinRecordSize || recordSize > 1024)
        {
            throw new EbpfElfException(where, $"line information record size {recordSize} is not between {MinRecordSize} and 1024");
        }

        while (pos < area.Length)
        {
            string section = btf.StringAt(Next(area, ref pos, where), where);
            uint count = Next(area, ref pos, where);
            if (count > (uint)(area.Length - pos) / recordSize)
            {
                throw new EbpfElfException(where, $"{count} line records for section '{section}' do not fit the line information");
            }

            var records = result.TryGetValue(section, out var list) ? list : result[section] = [];
            for (uint i = 0; i < count; i++)
            {
                int record = pos;
                uint instructionOffset = BinaryPrimitives.ReadUInt32LittleEndian(area[record..]);
                string fileName = btf.StringAt(BinaryPrimitives.ReadUInt32LittleEndian(area[(record + 4)..]), where);
                string text = btf.StringAt(BinaryPrimitives.ReadUInt32LittleEndian(area[(record + 8)..]), where);
                uint lineColumn = BinaryPrimitives.ReadUInt32LittleEndian(area[(record + 12)..]);
                records.Add((instructionOffset, new SourceLine(fileName, (int)(lineColumn >> 10), (int)(lineColumn & 0x3ff), text)));
                pos += (int)recordSize;
            }
        }

        foreach (string section in result.Keys.ToList())
        {
            result[section] = [.. result[section].OrderBy(r => r.Offset)];
        }

        return result;
    }

    private static uint Next(ReadOnlySpan<byte> area, ref int pos, string where)
    {
        if (area.Length - pos < 4)
        {
            throw new EbpfElfException(where, "the line information is truncated");
        }

        pos += 4;
        return BinaryPrimitives.ReadUInt32LittleEndian(area[(pos - 4)..]);
    }
}
