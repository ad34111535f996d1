namespace Ebpf.Isa;

/// <summary>The opcode byte of every instruction of the RFC 9669 set (plus the legacy packet loads of rbpf).</summary>
public static class OpCodes
{
    /// <summary>ALU add32 with immediate source.</summary>
    public const byte Add32Imm = 0x04;
    /// <summary>ALU add32 with register source.</summary>
    public const byte Add32Reg = 0x0c;
    /// <summary>ALU64 add64 with immediate source.</summary>
    public const byte Add64Imm = 0x07;
    /// <summary>ALU64 add64 with register source.</summary>
    public const byte Add64Reg = 0x0f;
    /// <summary>ALU sub32 with immediate source.</summary>
    public const byte Sub32Imm = 0x14;
    /// <summary>ALU sub32 with register source.</summary>
    public const byte Sub32Reg = 0x1c;
    /// <summary>ALU64 sub64 with immediate source.</summary>
    public const byte Sub64Imm = 0x17;
    /// <summary>ALU64 sub64 with register source.</summary>
    public const byte Sub64Reg = 0x1f;
    /// <summary>ALU mul32 with immediate source.</summary>
    public const byte Mul32Imm = 0x24;
    /// <summary>ALU mul32 with register source.</summary>
    public const byte Mul32Reg = 0x2c;
    /// <summary>ALU64 mul64 with immediate source.</summary>
    public const byte Mul64Imm = 0x27;
    /// <summary>ALU64 mul64 with register source.</summary>
    public const byte Mul64Reg = 0x2f;
    /// <summary>ALU div32 with immediate source.</summary>
    public const byte Div32Imm = 0x34;
    /// <summary>ALU div32 with register source.</summary>
    public const byte Div32Reg = 0x3c;
    /// <summary>ALU64 div64 with immediate source.</summary>
    public const byte Div64Imm = 0x37;
    /// <summary>ALU64 div64 with register source.</summary>
    public const byte Div64Reg = 0x3f;
    /// <summary>ALU or32 with immediate source.</summary>
    public const byte Or32Imm = 0x44;
    /// <summary>ALU or32 with register source.</summary>
    public const byte Or32Reg = 0x4c;
    /// <summary>ALU64 or64 with immediate source.</summary>
    public const byte Or64Imm = 0x47;
    /// <summary>ALU64 or64 with register source.</summary>
    public const byte Or64Reg = 0x4f;
    /// <summary>ALU and32 with immediate source.</summary>
    public const byte And32Imm = 0x54;
    /// <summary>ALU and32 with register source.</summary>
    public const byte And32Reg = 0x5c;
    /// <summary>ALU64 and64 with immediate source.</summary>
    public const byte And64Imm = 0x57;
    /// <summary>ALU64 and64 with register source.</summary>
    public const byte And64Reg = 0x5f;
    /// <summary>ALU lsh32 with immediate source.</summary>
    public const byte Lsh32Imm = 0x64;
    /// <summary>ALU lsh32 with register source.</summary>
    public const byte Lsh32Reg = 0x6c;
    /// <summary>ALU64 lsh64 with immediate source.</summary>
    public const byte Lsh64Imm = 0x67;
    /// <summary>ALU64 lsh64 with register source.</summary>
    public const byte Lsh64Reg = 0x6f;
    /// <summary>ALU rsh32 with immediate source.</summary>
    public const byte Rsh32Imm = 0x74;
    /// <summary>ALU rsh32 with register source.</summary>
    public const byte Rsh32Reg = 0x7c;
    /// <summary>ALU64 rsh64 with immediate source.</summary>
    public const byte Rsh64Imm = 0x77;
    /// <summary>ALU64 rsh64 with register source.</summary>
    public const byte Rsh64Reg = 0x7f;
    /// <summary>ALU mod32 with immediate source.</summary>
    public const byte Mod32Imm = 0x94;
    /// <summary>ALU mod32 with register source.</summary>
    public const byte Mod32Reg = 0x9c;
    /// <summary>ALU64 mod64 with immediate source.</summary>
    public const byte Mod64Imm = 0x97;
    /// <summary>ALU64 mod64 with register source.</summary>
    public const byte Mod64Reg = 0x9f;
    /// <summary>ALU xor32 with immediate source.</summary>
    public const byte Xor32Imm = 0xa4;
    /// <summary>ALU xor32 with register source.</summary>
    public const byte Xor32Reg = 0xac;
    /// <summary>ALU64 xor64 with immediate source.</summary>
    public const byte Xor64Imm = 0xa7;
    /// <summary>ALU64 xor64 with register source.</summary>
    public const byte Xor64Reg = 0xaf;
    /// <summary>ALU mov32 with immediate source.</summary>
    public const byte Mov32Imm = 0xb4;
    /// <summary>ALU mov32 with register source.</summary>
    public const byte Mov32Reg = 0xbc;
    /// <summary>ALU64 mov64 with immediate source.</summary>
    public const byte Mov64Imm = 0xb7;
    /// <summary>ALU64 mov64 with register source.</summary>
    public const byte Mov64Reg = 0xbf;
    /// <summary>ALU arsh32 with immediate source.</summary>
    public const byte Arsh32Imm = 0xc4;
    /// <summary>ALU arsh32 with register source.</summary>
    public const byte Arsh32Reg = 0xcc;
    /// <summary>ALU64 arsh64 with immediate source.</summary>
    public const byte Arsh64Imm = 0xc7;
    /// <summary>ALU64 arsh64 with register source.</summary>
    public const byte Arsh64Reg = 0xcf;
    /// <summary>ALU neg32.</summary>
    public const byte Neg32 = 0x84;
    /// <summary>ALU64 neg64.</summary>
    public const byte Neg64 = 0x87;
    /// <summary>Byte swap to little endian (<c>le16/32/64</c>; width in the immediate).</summary>
    public const byte Le = 0xd4;
    /// <summary>Byte swap to big endian (<c>be16/32/64</c>; width in the immediate).</summary>
    public const byte Be = 0xdc;
    /// <summary>Unconditional byte swap (<c>bswap16/32/64</c>, class ALU64).</summary>
    public const byte Bswap = 0xd7;
    /// <summary>Unconditional jump by the 16-bit offset.</summary>
    public const byte Ja = 0x05;
    /// <summary>Unconditional jump by the 32-bit immediate (<c>gotol</c>, class JMP32).</summary>
    public const byte Ja32 = 0x06;
    /// <summary>JMP jeq with immediate.</summary>
    public const byte JeqImm = 0x15;
    /// <summary>JMP jeq with register.</summary>
    public const byte JeqReg = 0x1d;
    /// <summary>JMP32 jeq32 with immediate.</summary>
    public const byte Jeq32Imm = 0x16;
    /// <summary>JMP32 jeq32 with register.</summary>
    public const byte Jeq32Reg = 0x1e;
    /// <summary>JMP jgt with immediate.</summary>
    public const byte JgtImm = 0x25;
    /// <summary>JMP jgt with register.</summary>
    public const byte JgtReg = 0x2d;
    /// <summary>JMP32 jgt32 with immediate.</summary>
    public const byte Jgt32Imm = 0x26;
    /// <summary>JMP32 jgt32 with register.</summary>
    public const byte Jgt32Reg = 0x2e;
    /// <summary>JMP jge with immediate.</summary>
    public const byte JgeImm = 0x35;
    /// <summary>JMP jge with register.</summary>
    public const byte JgeReg = 0x3d;
    /// <summary>JMP32 jge32 with immediate.</summary>
    public const byte Jge32Imm = 0x36;
    /// <summary>JMP32 jge32 with register.</summary>
    public const byte Jge32Reg = 0x3e;
    /// <summary>JMP jset with immediate.</summary>
    public const byte JsetImm = 0x45;
    /// <summary>JMP jset with register.</summary>
    public const byte JsetReg = 0x4d;
    /// <summary>JMP32 jset32 with immediate.</summary>
    public const byte Jset32Imm = 0x46;
    /// <summary>JMP32 jset32 with register.</summary>
    public const byte Jset32Reg = 0x4e;
    /// <summary>JMP jne with immediate.</summary>
    public const byte JneImm = 0x55;
    /// <summary>JMP jne with register.</summary>
    public const byte JneReg = 0x5d;
    /// <summary>JMP32 jne32 with immediate.</summary>
    public const byte Jne32Imm = 0x56;
    /// <summary>JMP32 jne32 with register.</summary>
    public const byte Jne32Reg = 0x5e;
    /// <summary>JMP jsgt with immediate.</summary>
    public const byte JsgtImm = 0x65;
    /// <summary>JMP jsgt with register.</summary>
    public const byte JsgtReg = 0x6d;
    /// <summary>JMP32 jsgt32 with immediate.</summary>
    public const byte Jsgt32Imm = 0x66;
    /// <summary>JMP32 jsgt32 with register.</summary>
    public const byte Jsgt32Reg = 0x6e;
    /// <summary>JMP jsge with immediate.</summary>
    public const byte JsgeImm = 0x75;
    /// <summary>JMP jsge with register.</summary>
    public const byte JsgeReg = 0x7d;
    /// <summary>JMP32 jsge32 with immediate.</summary>
    public const byte Jsge32Imm = 0x76;
    /// <summary>JMP32 jsge32 with register.</summary>
    public const byte Jsge32Reg = 0x7e;
    /// <summary>JMP jlt with immediate.</summary>
    public const byte JltImm = 0xa5;
    /// <summary>JMP jlt with register.</summary>
    public const byte JltReg = 0xad;
    /// <summary>JMP32 jlt32 with immediate.</summary>
    public const byte Jlt32Imm = 0xa6;
    /// <summary>JMP32 jlt32 with register.</summary>
    public const byte Jlt32Reg = 0xae;
    /// <summary>JMP jle with immediate.</summary>
    public const byte JleImm = 0xb5;
    /// <summary>JMP jle with register.</summary>
    public const byte JleReg = 0xbd;
    /// <summary>JMP32 jle32 with immediate.</summary>
    public const byte Jle32Imm = 0xb6;
    /// <summary>JMP32 jle32 with register.</summary>
    public const byte Jle32Reg = 0xbe;
    /// <summary>JMP jslt with immediate.</summary>
    public const byte JsltImm = 0xc5;
    /// <summary>JMP jslt with register.</summary>
    public const byte JsltReg = 0xcd;
    /// <summary>JMP32 jslt32 with immediate.</summary>
    public const byte Jslt32Imm = 0xc6;
    /// <summary>JMP32 jslt32 with register.</summary>
    public const byte Jslt32Reg = 0xce;
    /// <summary>JMP jsle with immediate.</summary>
    public const byte JsleImm = 0xd5;
    /// <summary>JMP jsle with register.</summary>
    public const byte JsleReg = 0xdd;
    /// <summary>JMP32 jsle32 with immediate.</summary>
    public const byte Jsle32Imm = 0xd6;
    /// <summary>JMP32 jsle32 with register.</summary>
    public const byte Jsle32Reg = 0xde;
    /// <summary>Call a helper (src 0, id in the immediate) or a local function (src 1, relative offset in the immediate).</summary>
    public const byte Call = 0x85;
    /// <summary>Call the helper whose id is held in the register named by <c>dst</c> (<c>callx</c>).</summary>
    public const byte CallX = 0x8d;
    /// <summary>Return from the function, or end the program with r0.</summary>
    public const byte Exit = 0x95;
    /// <summary>Load a 64-bit immediate (two slots); <c>src</c> selects a pseudo source.</summary>
    public const byte Lddw = 0x18;
    /// <summary>Legacy packet load (word) at an absolute offset into r0.</summary>
    public const byte LdAbsW = 0x20;
    /// <summary>Legacy packet load (word) at src + imm into r0.</summary>
    public const byte LdIndW = 0x40;
    /// <summary>Load a word from [src + offset] into dst.</summary>
    public const byte LdxW = 0x61;
    /// <summary>Store the immediate as a word at [dst + offset].</summary>
    public const byte StW = 0x62;
    /// <summary>Store src as a word at [dst + offset].</summary>
    public const byte StxW = 0x63;
    /// <summary>Sign-extending load of a word from [src + offset] into dst.</summary>
    public const byte LdxsW = 0x81;
    /// <summary>Legacy packet load (halfword) at an absolute offset into r0.</summary>
    public const byte LdAbsH = 0x28;
    /// <summary>Legacy packet load (halfword) at src + imm into r0.</summary>
    public const byte LdIndH = 0x48;
    /// <summary>Load a halfword from [src + offset] into dst.</summary>
    public const byte LdxH = 0x69;
    /// <summary>Store the immediate as a halfword at [dst + offset].</summary>
    public const byte StH = 0x6a;
    /// <summary>Store src as a halfword at [dst + offset].</summary>
    public const byte StxH = 0x6b;
    /// <summary>Sign-extending load of a halfword from [src + offset] into dst.</summary>
    public const byte LdxsH = 0x89;
    /// <summary>Legacy packet load (byte) at an absolute offset into r0.</summary>
    public const byte LdAbsB = 0x30;
    /// <summary>Legacy packet load (byte) at src + imm into r0.</summary>
    public const byte LdIndB = 0x50;
    /// <summary>Load a byte from [src + offset] into dst.</summary>
    public const byte LdxB = 0x71;
    /// <summary>Store the immediate as a byte at [dst + offset].</summary>
    public const byte StB = 0x72;
    /// <summary>Store src as a byte at [dst + offset].</summary>
    public const byte StxB = 0x73;
    /// <summary>Sign-extending load of a byte from [src + offset] into dst.</summary>
    public const byte LdxsB = 0x91;
    /// <summary>Legacy packet load (doubleword) at an absolute offset into r0.</summary>
    public const byte LdAbsDW = 0x38;
    /// <summary>Legacy packet load (doubleword) at src + imm into r0.</summary>
    public const byte LdIndDW = 0x58;
    /// <summary>Load a doubleword from [src + offset] into dst.</summary>
    public const byte LdxDW = 0x79;
    /// <summary>Store the immediate as a doubleword at [dst + offset].</summary>
    public const byte StDW = 0x7a;
    /// <summary>Store src as a doubleword at [dst + offset].</summary>
    public const byte StxDW = 0x7b;
    /// <summary>32-bit atomic operation on [dst + offset] (also rbpf's legacy <c>xaddw</c>); the operation is in the immediate.</summary>
    public const byte AtomicW = 0xc3;
    /// <summary>64-bit atomic operation on [dst + offset] (also rbpf's legacy <c>xadddw</c>); the operation is in the immediate.</summary>
    public const byte AtomicDW = 0xdb;
}
