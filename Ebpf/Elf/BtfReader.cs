using System.Buffers.Binary;
using System.Text;

namespace Ebpf.Elf;

/// <summary>
/// Reads the <c>.BTF</c> section (the type information clang emits with <c>-g</c>) far enough to interpret
/// BTF-defined maps: variables, structs, pointers, arrays, typedefs and qualifiers, and type sizes.
/// </summary>
internal sealed class BtfReader
{
    private const ushort Magic = 0xeb9f;
    private const int MaxResolveDepth = 32;
    private readonly List<BtfType> types = [];
    private readonly string where;
    private byte[] strings = [];

    private BtfReader(string where)
    {
        this.where = where;
    }

    public static BtfReader Parse(ElfSection section)
    {
        var reader = new BtfReader(section.Describe());
        reader.Read(section.Data);
        return reader;
    }

    /// <summary>The type of the variable named <paramref name="name"/>, or 0 when there is none.</summary>
    public uint FindVariableType(string name)
    {
        foreach (var t in types)
        {
            if (t.Kind == BtfType.KindVar && t.Name == name)
            {
                return t.SizeOrType;
            }
        }

        return 0;
    }

    /// <summary>The string at <paramref name="offset"/> of the string area (as referenced by <c>.BTF.ext</c> records).</summary>
    /// <param name="offset">The offset into the string area.</param>
    /// <param name="recordWhere">Where the reference is, for the error message.</param>
    /// <exception cref="EbpfElfException">The offset lies outside the string area.</exception>
    public string StringAt(uint offset, string recordWhere) =>
        offset < (uint)strings.Length || offset == 0 ? ReadString(strings, offset, 0) : throw new EbpfElfException(recordWhere, $"string offset {offset} is outside the BTF string area ({strings.Length} bytes)");

    /// <summary>The type with id <paramref name="id"/> after typedefs and qualifiers.</summary>
    public BtfType Resolve(uint id)
    {
        for (int depth = 0; depth < MaxResolveDepth; depth++)
        {
            var t = Get(id);
            if (t.Kind is not (BtfType.KindTypedef or BtfType.KindVolatile or BtfType.KindConst or BtfType.KindRestrict or BtfType.KindTypeTag))
            {
                return t;
            }

            id = t.SizeOrType;
        }

        throw new EbpfElfException(where, $"type {id}: typedef or qualifier chain longer than {MaxResolveDepth}");
    }

    /// <summary>The size in bytes of type <paramref name="id"/>.</summary>
    public ulong SizeOf(uint id) => SizeOf(id, 0);

    private ulong SizeOf(uint id, int depth)
    {
        if (depth > MaxResolveDepth)
        {
            throw new EbpfElfException(where, $"type {id}: nesting deeper than {MaxResolveDepth}");
        }

        var t = Resolve(id);
        return t.Kind switch
        {
            BtfType.KindInt or BtfType.KindStruct or BtfType.KindUnion or BtfType.KindEnum or BtfType.KindEnum64
                or BtfType.KindFloat or BtfType.KindDataSec => t.SizeOrType,
            BtfType.KindPtr => 8,
            BtfType.KindArray => ArraySize(t, SizeOf(t.ArrayElementType, depth + 1)),
            _ => throw new EbpfElfException(where, $"type {t.Id} (kind {t.Kind}) has no size"),
        };
    }

    private ulong ArraySize(BtfType array, ulong elementSize) =>
        elementSize != 0 && array.ArrayCount > uint.MaxValue / elementSize
            ? throw new EbpfElfException(where, $"type {array.Id}: array of {array.ArrayCount} elements of {elementSize} bytes is too large")
            : array.ArrayCount * elementSize;

    private BtfType Get(uint id)
    {
        if (id == 0 || id > (uint)types.Count)
        {
            throw new EbpfElfException(where, $"type id {id} does not exist ({types.Count} types)");
        }

        return types[(int)id - 1];
    }

    private void Read(byte[] data)
    {
        var span = data.AsSpan();
        if (span.Length < 24)
        {
            throw new EbpfElfException(where, $"{span.Length} bytes, fewer than the 24-byte BTF header");
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(span) != Magic)
        {
            throw new EbpfElfException(where + ", offset 0x0", "bad BTF magic (expected 0xeb9f, little-endian)");
        }

        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        uint typeOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        uint typeLength = BinaryPrimitives.ReadUInt32LittleEndian(span[12..]);
        uint stringOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
        uint stringLength = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
        var typeArea = Area(span, headerLength, typeOffset, typeLength, "type");
        var strings = Area(span, headerLength, stringOffset, stringLength, "string");
        this.strings = strings.ToArray();

        int pos = 0;
        while (pos < typeArea.Length)
        {
            int start = pos;
            uint nameOffset = U32(typeArea, ref pos, start);
            uint info = U32(typeArea, ref pos, start);
            uint sizeOrType = U32(typeArea, ref pos, start);
            int kind = (int)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            string name = ReadString(strings, nameOffset, headerLength + typeOffset + (uint)start);
            uint elementType = 0, count = 0;
            var members = new List<BtfMember>();
            switch (kind)
            {
                case BtfType.KindInt:
                case BtfType.KindVar:
                case BtfType.KindDeclTag:
                    Skip(typeArea, ref pos, 4, start);
                    break;
                case BtfType.KindArray:
                    elementType = U32(typeArea, ref pos, start);
                    U32(typeArea, ref pos, start);
                    count = U32(typeArea, ref pos, start);
                    break;
                case BtfType.KindStruct:
                case BtfType.KindUnion:
                    bool bitfields = (info & 0x8000_0000) != 0;
                    for (int m = 0; m < vlen; m++)
                    {
                        uint memberName = U32(typeArea, ref pos, start);
                        uint memberType = U32(typeArea, ref pos, start);
                        uint offset = U32(typeArea, ref pos, start);
                        members.Add(new BtfMember(ReadString(strings, memberName, headerLength + typeOffset + (uint)start), memberType, bitfields ? offset & 0xff_ffff : offset));
                    }

                    break;
                case BtfType.KindEnum:
                case BtfType.KindFuncProto:
                    Skip(typeArea, ref pos, 8L * vlen, start);
                    break;
                case BtfType.KindDataSec:
                case BtfType.KindEnum64:
                    Skip(typeArea, ref pos, 12L * vlen, start);
                    break;
                case BtfType.KindPtr:
                case BtfType.KindFwd:
                case BtfType.KindTypedef:
                case BtfType.KindVolatile:
                case BtfType.KindConst:
                case BtfType.KindRestrict:
                case BtfType.KindFunc:
                case BtfType.KindFloat:
                case BtfType.KindTypeTag:
                    break;
                default:
                    throw new EbpfElfException($"{where}, offset 0x{headerLength + typeOffset + (uint)start:x}", $"unknown BTF kind {kind}");
            }

            types.Add(new BtfType(types.Count + 1, kind, name, sizeOrType, elementType, count, members));
        }
    }

    private ReadOnlySpan<byte> Area(ReadOnlySpan<byte> span, uint headerLength, uint offset, uint length, string what)
    {
        ulong start = (ulong)headerLength + offset;
        if (headerLength < 24 || start > (ulong)span.Length || (ulong)span.Length - start < length)
        {
            throw new EbpfElfException(where, $"the {what} area (offset {offset}, length {length}) lies outside the section ({span.Length} bytes)");
        }

        return span.Slice((int)start, (int)length);
    }

    private uint U32(ReadOnlySpan<byte> area, ref int pos, int start)
    {
        Skip(area, ref pos, 4, start);
        return BinaryPrimitives.ReadUInt32LittleEndian(area[(pos - 4)..]);
    }

    private void Skip(ReadOnlySpan<byte> area, ref int pos, long bytes, int start)
    {
        if (bytes > area.Length - pos)
        {
            throw new EbpfElfException(where, $"the type record at offset {start} of the type area is truncated");
        }

        pos += (int)bytes;
    }

    private string ReadString(ReadOnlySpan<byte> strings, uint offset, uint recordOffset)
    {
        if (offset >= (uint)strings.Length)
        {
            if (offset == 0)
            {
                return string.Empty;
            }

            throw new EbpfElfException($"{where}, offset 0x{recordOffset:x}", $"name offset {offset} is outside the string area ({strings.Length} bytes)");
        }

        var rest = strings[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }
}
