using Ebpf.Isa;

namespace Ebpf.Building;

/// <summary>The condition of a conditional jump (the values are the operation bits of the opcode).</summary>
public enum JumpCondition : byte
{
    /// <summary><c>jeq</c>: dst == src.</summary>
    Equal = (byte)JumpOperation.Jeq,
    /// <summary><c>jgt</c>: dst &gt; src (unsigned).</summary>
    Greater = (byte)JumpOperation.Jgt,
    /// <summary><c>jge</c>: dst &gt;= src (unsigned).</summary>
    GreaterOrEqual = (byte)JumpOperation.Jge,
    /// <summary><c>jset</c>: (dst &amp; src) != 0.</summary>
    AnyBitSet = (byte)JumpOperation.Jset,
    /// <summary><c>jne</c>: dst != src.</summary>
    NotEqual = (byte)JumpOperation.Jne,
    /// <summary><c>jsgt</c>: dst &gt; src (signed).</summary>
    SignedGreater = (byte)JumpOperation.Jsgt,
    /// <summary><c>jsge</c>: dst &gt;= src (signed).</summary>
    SignedGreaterOrEqual = (byte)JumpOperation.Jsge,
    /// <summary><c>jlt</c>: dst &lt; src (unsigned).</summary>
    Less = (byte)JumpOperation.Jlt,
    /// <summary><c>jle</c>: dst &lt;= src (unsigned).</summary>
    LessOrEqual = (byte)JumpOperation.Jle,
    /// <summary><c>jslt</c>: dst &lt; src (signed).</summary>
    SignedLess = (byte)JumpOperation.Jslt,
    /// <summary><c>jsle</c>: dst &lt;= src (signed).</summary>
    SignedLessOrEqual = (byte)JumpOperation.Jsle,
}
