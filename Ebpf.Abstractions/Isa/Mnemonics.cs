namespace Ebpf.Isa;

/// <summary>
/// The names of operations used in assembly text. One source of truth for the formatter (which prints them)
/// and the assembler (which reads them).
/// </summary>
public static class Mnemonics
{
    /// <summary>The base name of an ALU operation (<c>add</c>, <c>sub</c>, ...), or <c>sdiv</c>/<c>smod</c> when <paramref name="isSigned"/>.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="isSigned">True for the signed forms of division and modulo (offset 1).</param>
    /// <returns>The name, or null when the operation has no name of that kind (for example a signed <c>add</c>).</returns>
    public static string? Alu(AluOperation operation, bool isSigned = false) => (operation, isSigned) switch
    {
        (AluOperation.Add, false) => "add",
        (AluOperation.Sub, false) => "sub",
        (AluOperation.Mul, false) => "mul",
        (AluOperation.Div, false) => "div",
        (AluOperation.Div, true) => "sdiv",
        (AluOperation.Or, false) => "or",
        (AluOperation.And, false) => "and",
        (AluOperation.Lsh, false) => "lsh",
        (AluOperation.Rsh, false) => "rsh",
        (AluOperation.Neg, false) => "neg",
        (AluOperation.Mod, false) => "mod",
        (AluOperation.Mod, true) => "smod",
        (AluOperation.Xor, false) => "xor",
        (AluOperation.Mov, false) => "mov",
        (AluOperation.Arsh, false) => "arsh",
        _ => null,
    };

    /// <summary>The name of a conditional jump (<c>jeq</c>, <c>jgt</c>, ...), or null for <c>ja</c>, <c>call</c> and <c>exit</c>.</summary>
    public static string? Jump(JumpOperation operation) => operation switch
    {
        JumpOperation.Jeq => "jeq",
        JumpOperation.Jgt => "jgt",
        JumpOperation.Jge => "jge",
        JumpOperation.Jset => "jset",
        JumpOperation.Jne => "jne",
        JumpOperation.Jsgt => "jsgt",
        JumpOperation.Jsge => "jsge",
        JumpOperation.Jlt => "jlt",
        JumpOperation.Jle => "jle",
        JumpOperation.Jslt => "jslt",
        JumpOperation.Jsle => "jsle",
        _ => null,
    };

    /// <summary>The size suffix of load and store mnemonics: <c>w</c>, <c>h</c>, <c>b</c> or <c>dw</c>.</summary>
    public static string Size(AccessSize size) => size switch
    {
        AccessSize.Word => "w",
        AccessSize.HalfWord => "h",
        AccessSize.Byte => "b",
        _ => "dw",
    };

    /// <summary>
    /// The name of an atomic operation as written after <c>lock</c> (without the width suffix):
    /// <c>add</c>, <c>fetch add</c>, ..., <c>xchg</c>, <c>cmpxchg</c>; null for an immediate that is no atomic operation.
    /// </summary>
    public static string? Atomic(AtomicOperation operation) => operation switch
    {
        AtomicOperation.Add => "add",
        AtomicOperation.Or => "or",
        AtomicOperation.And => "and",
        AtomicOperation.Xor => "xor",
        AtomicOperation.FetchAdd => "fetch add",
        AtomicOperation.FetchOr => "fetch or",
        AtomicOperation.FetchAnd => "fetch and",
        AtomicOperation.FetchXor => "fetch xor",
        AtomicOperation.Exchange => "xchg",
        AtomicOperation.CompareExchange => "cmpxchg",
        _ => null,
    };

    /// <summary>
    /// The keyword of an <c>lddw</c> pseudo source as written before the immediate (<c>lddw r1, map_by_fd 0x3</c>),
    /// or null for the plain immediate (source 0) and undefined sources.
    /// </summary>
    public static string? LddwSourceKeyword(LddwSource source) => source switch
    {
        LddwSource.MapByFd => "map_by_fd",
        LddwSource.MapValueByFd => "map_value_by_fd",
        LddwSource.VariableAddress => "var_addr",
        LddwSource.CodeAddress => "code_addr",
        LddwSource.MapByIndex => "map_by_idx",
        LddwSource.MapValueByIndex => "map_value_by_idx",
        _ => null,
    };
}
