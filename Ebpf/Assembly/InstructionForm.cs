namespace Ebpf.Assembly;

/// <summary>How one mnemonic is encoded: its opcode (the immediate-source form where both exist), operands and fixed fields.</summary>
/// <param name="OpCode">The opcode; for <see cref="OperandShape.DstSource"/> and <see cref="OperandShape.ConditionalJump"/> the immediate form (the register form adds 0x08).</param>
/// <param name="Shape">The operands.</param>
/// <param name="Offset">The fixed offset field (1 for <c>sdiv</c>/<c>smod</c>, 8/16/32 for <c>movsx</c>).</param>
/// <param name="Imm">The fixed immediate (the width of byte swaps, the operation of legacy <c>xadd</c>).</param>
internal readonly record struct InstructionForm(byte OpCode, OperandShape Shape, short Offset = 0, int Imm = 0)
{
    /// <summary>How many comma-separated operands the form takes.</summary>
    public int OperandCount => Shape switch
    {
        OperandShape.None => 0,
        OperandShape.Dst or OperandShape.Jump16 or OperandShape.Jump32 or OperandShape.Call or OperandShape.CallX
            or OperandShape.Absolute or OperandShape.Slot => 1,
        OperandShape.ConditionalJump => 3,
        _ => 2,
    };

    /// <summary>What the operands are, for error messages.</summary>
    public string OperandDescription => Shape switch
    {
        OperandShape.None => "no operand",
        OperandShape.Dst => "a register",
        OperandShape.DstSource => "a register, then a register or an immediate",
        OperandShape.DstSrc => "two registers",
        OperandShape.ConditionalJump => "a register, a register or an immediate, then a jump target (+N, -N or a label)",
        OperandShape.Jump16 or OperandShape.Jump32 => "a jump target (+N, -N or a label)",
        OperandShape.Call => "a helper id, a register, or 'local' and a target",
        OperandShape.CallX => "a register",
        OperandShape.Lddw => "a register, then a 64-bit immediate",
        OperandShape.Load => "a register, then a memory operand [rN+offset]",
        OperandShape.StoreImmediate => "a memory operand [rN+offset], then an immediate",
        OperandShape.StoreRegister => "a memory operand [rN+offset], then a register",
        OperandShape.Absolute => "an immediate",
        OperandShape.Indirect => "a register, then an immediate",
        _ => "a 64-bit word",
    };
}
