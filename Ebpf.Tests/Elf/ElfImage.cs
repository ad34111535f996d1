using System.Buffers.Binary;
using System.Text;

namespace Ebpf.Tests.Elf;

/// <summary>Where the structures of a (valid) 64-bit ELF file are, so that tests can corrupt them precisely.</summary>
public sealed class ElfImage
{
    public ElfImage(byte[] bytes)
    {
        Bytes = bytes;
        SectionHeaderOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0x28));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3c));
        int names = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3e));
        var headers = Enumerable.Range(0, count).Select(i => SectionHeaderOffset + (i * 64)).ToArray();
        int namesOffset = (int)U64(headers[names] + 24);
        Sections = headers.Select((h, i) => new Section(
            i,
            CString(namesOffset + (int)U32(h)),
            h,
            U32(h + 4),
            (int)U64(h + 24),
            (int)U64(h + 32),
            U32(h + 44))).ToArray();
    }

    public byte[] Bytes { get; }

    public int SectionHeaderOffset { get; }

    public IReadOnlyList<Section> Sections { get; }

    public Section Named(string name) => Sections.First(s => s.Name == name);

    public IEnumerable<Section> OfType(uint type) => Sections.Where(s => s.Type == type);

    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(offset));

    private ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(offset));

    private string CString(int offset) => Encoding.ASCII.GetString(Bytes, offset, Array.IndexOf(Bytes, (byte)0, offset) - offset);

    /// <summary>A section: its header's file offset and its contents' offset and size.</summary>
    public sealed record Section(int Index, string Name, int HeaderOffset, uint Type, int Offset, int Size, uint Info);
}
