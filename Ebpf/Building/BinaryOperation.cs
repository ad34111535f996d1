namespace Ebpf.Building;

/// <summary>The two-operand ALU operations (<c>dst = dst OP src</c>), including the signed forms that use the offset field.</summary>
public enum BinaryOperation
{
    /// <summary><c>add</c>.</summary>
    Add,
    /// <summary><c>sub</c>.</summary>
    Sub,
    /// <summary><c>mul</c>.</summary>
    Mul,
    /// <summary>Unsigned <c>div</c> (division by zero gives 0).</summary>
    Div,
    /// <summary>Signed <c>sdiv</c> (opcode of div, offset 1).</summary>
    SDiv,
    /// <summary><c>or</c>.</summary>
    Or,
    /// <summary><c>and</c>.</summary>
    And,
    /// <summary>Left shift <c>lsh</c> (count masked to the width).</summary>
    Lsh,
    /// <summary>Logical right shift <c>rsh</c> (count masked to the width).</summary>
    Rsh,
    /// <summary>Unsigned <c>mod</c> (modulo zero leaves dst unchanged).</summary>
    Mod,
    /// <summary>Signed <c>smod</c> (opcode of mod, offset 1).</summary>
    SMod,
    /// <summary><c>xor</c>.</summary>
    Xor,
    /// <summary><c>mov</c>.</summary>
    Mov,
    /// <summary>Arithmetic right shift <c>arsh</c>.</summary>
    Arsh,
}
