namespace Ebpf.Elf;

/// <summary>One BTF type record: kind, name, size or referenced type, and the kind-specific entries that matter here.</summary>
internal sealed record BtfType(int Id, int Kind, string Name, uint SizeOrType, uint ArrayElementType, uint ArrayCount, IReadOnlyList<BtfMember> Members)
{
    public const int KindInt = 1;
    public const int KindPtr = 2;
    public const int KindArray = 3;
    public const int KindStruct = 4;
    public const int KindUnion = 5;
    public const int KindEnum = 6;
    public const int KindFwd = 7;
    public const int KindTypedef = 8;
    public const int KindVolatile = 9;
    public const int KindConst = 10;
    public const int KindRestrict = 11;
    public const int KindFunc = 12;
    public const int KindFuncProto = 13;
    public const int KindVar = 14;
    public const int KindDataSec = 15;
    public const int KindFloat = 16;
    public const int KindDeclTag = 17;
    public const int KindTypeTag = 18;
    public const int KindEnum64 = 19;
}

/// <summary>A member of a BTF struct or union: name, type and offset in bits.</summary>
internal sealed record BtfMember(string Name, uint Type, uint BitOffset);
