namespace Ebpf.Isa;

/// <summary>
/// What a decoded instruction does: one value per operation of RFC 9669 (plus the legacy packet loads). The width of
/// ALU and jump operations, the operand source, the access size and the other operands are fields of
/// <see cref="DecodedInstruction"/>, so <c>add32 r1, 5</c> and <c>add64 r1, r2</c> are both <see cref="Add"/>.
/// rbpf's legacy <c>xadd</c> has the encoding of <see cref="AtomicAdd"/> and decodes to it.
/// </summary>
public enum Operation : byte
{
    /// <summary>Not an instruction: the second slot of an <c>lddw</c>.</summary>
    None = 0,

    /// <summary><c>dst += src</c>.</summary>
    Add,
    /// <summary><c>dst -= src</c>.</summary>
    Sub,
    /// <summary><c>dst *= src</c>.</summary>
    Mul,
    /// <summary>Unsigned <c>dst /= src</c> (a divisor of 0 gives 0).</summary>
    Div,
    /// <summary>Signed <c>dst /= src</c> (<c>sdiv</c>, offset 1; a divisor of 0 gives 0, INT_MIN / -1 gives INT_MIN).</summary>
    SDiv,
    /// <summary>Unsigned <c>dst %= src</c> (a divisor of 0 leaves dst).</summary>
    Mod,
    /// <summary>Signed <c>dst %= src</c> (<c>smod</c>, offset 1; a divisor of 0 leaves dst, INT_MIN % -1 gives 0).</summary>
    SMod,
    /// <summary><c>dst |= src</c>.</summary>
    Or,
    /// <summary><c>dst &amp;= src</c>.</summary>
    And,
    /// <summary><c>dst ^= src</c>.</summary>
    Xor,
    /// <summary><c>dst &lt;&lt;= src</c> (count masked to the width).</summary>
    Lsh,
    /// <summary>Logical <c>dst &gt;&gt;= src</c> (count masked to the width).</summary>
    Rsh,
    /// <summary>Arithmetic <c>dst &gt;&gt;= src</c> (count masked to the width).</summary>
    Arsh,
    /// <summary><c>dst = -dst</c>.</summary>
    Neg,
    /// <summary><c>dst = src</c>.</summary>
    Mov,
    /// <summary><c>dst = (s8)src</c> (<c>movsx</c>, offset 8).</summary>
    MovSx8,
    /// <summary><c>dst = (s16)src</c> (<c>movsx</c>, offset 16).</summary>
    MovSx16,
    /// <summary><c>dst = (s32)src</c> (<c>movsx</c>, offset 32; ALU64 only).</summary>
    MovSx32,

    /// <summary><c>le16</c>: dst = the low 16 bits of dst read as little-endian, zero-extended.</summary>
    Le16,
    /// <summary><c>le32</c>: dst = the low 32 bits of dst read as little-endian, zero-extended.</summary>
    Le32,
    /// <summary><c>le64</c>: dst read as little-endian.</summary>
    Le64,
    /// <summary><c>be16</c>: dst = the low 16 bits of dst read as big-endian, zero-extended.</summary>
    Be16,
    /// <summary><c>be32</c>: dst = the low 32 bits of dst read as big-endian, zero-extended.</summary>
    Be32,
    /// <summary><c>be64</c>: dst read as big-endian.</summary>
    Be64,
    /// <summary><c>bswap16</c> (ALU64): the low 16 bits of dst byte-swapped, zero-extended.</summary>
    Bswap16,
    /// <summary><c>bswap32</c> (ALU64): the low 32 bits of dst byte-swapped, zero-extended.</summary>
    Bswap32,
    /// <summary><c>bswap64</c> (ALU64): dst byte-swapped.</summary>
    Bswap64,

    /// <summary><c>ja</c>: jump by the 16-bit offset.</summary>
    Ja,
    /// <summary><c>ja32</c> (<c>gotol</c>): jump by the 32-bit immediate.</summary>
    Ja32,
    /// <summary>Jump when <c>dst == src</c>.</summary>
    Jeq,
    /// <summary>Jump when <c>dst &gt; src</c> (unsigned).</summary>
    Jgt,
    /// <summary>Jump when <c>dst &gt;= src</c> (unsigned).</summary>
    Jge,
    /// <summary>Jump when <c>dst &amp; src</c> is not zero.</summary>
    Jset,
    /// <summary>Jump when <c>dst != src</c>.</summary>
    Jne,
    /// <summary>Jump when <c>dst &gt; src</c> (signed).</summary>
    Jsgt,
    /// <summary>Jump when <c>dst &gt;= src</c> (signed).</summary>
    Jsge,
    /// <summary>Jump when <c>dst &lt; src</c> (unsigned).</summary>
    Jlt,
    /// <summary>Jump when <c>dst &lt;= src</c> (unsigned).</summary>
    Jle,
    /// <summary>Jump when <c>dst &lt; src</c> (signed).</summary>
    Jslt,
    /// <summary>Jump when <c>dst &lt;= src</c> (signed).</summary>
    Jsle,
    /// <summary><c>call imm</c>: the helper with id imm.</summary>
    CallHelper,
    /// <summary><c>call local</c>: the local function at the target.</summary>
    CallLocal,
    /// <summary><c>callx dst</c>: the helper whose id is in dst.</summary>
    CallX,
    /// <summary><c>exit</c>: return r0 (from the program or the local function).</summary>
    Exit,

    /// <summary><c>lddw</c>: dst = a 64-bit immediate or what a pseudo source resolves to (two slots).</summary>
    Lddw,
    /// <summary>Legacy <c>ldabs</c>: r0 = the input bytes at imm.</summary>
    LoadAbsolute,
    /// <summary>Legacy <c>ldind</c>: r0 = the input bytes at (u32)src + imm.</summary>
    LoadIndirect,
    /// <summary><c>ldx</c>: dst = [src + offset], zero-extended.</summary>
    Load,
    /// <summary><c>ldxs</c>: dst = [src + offset], sign-extended.</summary>
    LoadSignExtend,
    /// <summary><c>st</c> (immediate) or <c>stx</c> (register): [dst + offset] = value.</summary>
    Store,

    /// <summary><c>lock add</c>: [dst + offset] += src.</summary>
    AtomicAdd,
    /// <summary><c>lock or</c>: [dst + offset] |= src.</summary>
    AtomicOr,
    /// <summary><c>lock and</c>: [dst + offset] &amp;= src.</summary>
    AtomicAnd,
    /// <summary><c>lock xor</c>: [dst + offset] ^= src.</summary>
    AtomicXor,
    /// <summary><c>lock fetch add</c>: src = the old value, [dst + offset] += src.</summary>
    AtomicFetchAdd,
    /// <summary><c>lock fetch or</c>: src = the old value, [dst + offset] |= src.</summary>
    AtomicFetchOr,
    /// <summary><c>lock fetch and</c>: src = the old value, [dst + offset] &amp;= src.</summary>
    AtomicFetchAnd,
    /// <summary><c>lock fetch xor</c>: src = the old value, [dst + offset] ^= src.</summary>
    AtomicFetchXor,
    /// <summary><c>lock xchg</c>: src = the old value, [dst + offset] = src.</summary>
    AtomicExchange,
    /// <summary><c>lock cmpxchg</c>: r0 = the old value; [dst + offset] = src when the old value equals r0.</summary>
    AtomicCompareExchange,
}
