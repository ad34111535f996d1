namespace Ebpf.Isa;

/// <summary>The operation of a JMP or JMP32 instruction: the high four bits of the opcode.</summary>
public enum JumpOperation : byte
{
    /// <summary>Unconditional jump (<c>ja</c>; in class JMP32 the 32-bit <c>ja32</c>/<c>gotol</c>).</summary>
    Ja = 0x00,
    /// <summary>Jump if equal.</summary>
    Jeq = 0x10,
    /// <summary>Jump if greater (unsigned).</summary>
    Jgt = 0x20,
    /// <summary>Jump if greater or equal (unsigned).</summary>
    Jge = 0x30,
    /// <summary>Jump if <c>dst &amp; src</c> is not zero.</summary>
    Jset = 0x40,
    /// <summary>Jump if not equal.</summary>
    Jne = 0x50,
    /// <summary>Jump if greater (signed).</summary>
    Jsgt = 0x60,
    /// <summary>Jump if greater or equal (signed).</summary>
    Jsge = 0x70,
    /// <summary>Call: a helper (src 0), a local function (src 1), or <c>callx</c> (register source).</summary>
    Call = 0x80,
    /// <summary>Return from the current function or end the program.</summary>
    Exit = 0x90,
    /// <summary>Jump if less (unsigned).</summary>
    Jlt = 0xa0,
    /// <summary>Jump if less or equal (unsigned).</summary>
    Jle = 0xb0,
    /// <summary>Jump if less (signed).</summary>
    Jslt = 0xc0,
    /// <summary>Jump if less or equal (signed).</summary>
    Jsle = 0xd0,
}
