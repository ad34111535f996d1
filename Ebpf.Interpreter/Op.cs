namespace Ebpf.Interpreter;

/// <summary>
/// The interpreter's own operation codes: one per behaviour, dense from 0 so the dispatch switch is a jump table.
/// Encoding variants that behave alike share one code (e.g. <c>le64</c> is <see cref="Nop"/>), and variants selected
/// by the offset field (<c>sdiv</c>, <c>smod</c>, <c>movsx</c>) get codes of their own.
/// </summary>
internal enum Op : byte
{
    Add64Imm, Add64Reg, Sub64Imm, Sub64Reg, Mul64Imm, Mul64Reg,
    Div64Imm, Div64Reg, SDiv64Imm, SDiv64Reg, Mod64Imm, Mod64Reg, SMod64Imm, SMod64Reg,
    Or64Imm, Or64Reg, And64Imm, And64Reg, Xor64Imm, Xor64Reg,
    Lsh64Imm, Lsh64Reg, Rsh64Imm, Rsh64Reg, Arsh64Imm, Arsh64Reg,
    Neg64, Mov64Imm, Mov64Reg, MovSx64B, MovSx64H, MovSx64W,

    Add32Imm, Add32Reg, Sub32Imm, Sub32Reg, Mul32Imm, Mul32Reg,
    Div32Imm, Div32Reg, SDiv32Imm, SDiv32Reg, Mod32Imm, Mod32Reg, SMod32Imm, SMod32Reg,
    Or32Imm, Or32Reg, And32Imm, And32Reg, Xor32Imm, Xor32Reg,
    Lsh32Imm, Lsh32Reg, Rsh32Imm, Rsh32Reg, Arsh32Imm, Arsh32Reg,
    Neg32, Mov32Imm, Mov32Reg, MovSx32B, MovSx32H,

    ZeroExtend16, ZeroExtend32, Nop, Swap16, Swap32, Swap64,

    Ja,
    JeqImm, JeqReg, JgtImm, JgtReg, JgeImm, JgeReg, JsetImm, JsetReg, JneImm, JneReg,
    JsgtImm, JsgtReg, JsgeImm, JsgeReg, JltImm, JltReg, JleImm, JleReg, JsltImm, JsltReg, JsleImm, JsleReg,
    Jeq32Imm, Jeq32Reg, Jgt32Imm, Jgt32Reg, Jge32Imm, Jge32Reg, Jset32Imm, Jset32Reg, Jne32Imm, Jne32Reg,
    Jsgt32Imm, Jsgt32Reg, Jsge32Imm, Jsge32Reg, Jlt32Imm, Jlt32Reg, Jle32Imm, Jle32Reg, Jslt32Imm, Jslt32Reg, Jsle32Imm, Jsle32Reg,

    Lddw,
    LdxB, LdxH, LdxW, LdxDW, LdxsB, LdxsH, LdxsW,
    StB, StH, StW, StDW, StxB, StxH, StxW, StxDW,
    Atomic32, Atomic64,
    LdAbsB, LdAbsH, LdAbsW, LdAbsDW, LdIndB, LdIndH, LdIndW, LdIndDW,

    // Loads and stores proven in bounds by the safety analysis (see Analysis.CheckPlan): no run-time check.
    LdxBProven, LdxHProven, LdxWProven, LdxDWProven, LdxsBProven, LdxsHProven, LdxsWProven,
    StBProven, StHProven, StWProven, StDWProven, StxBProven, StxHProven, StxWProven, StxDWProven,

    CallHelper, CallLocal, CallX, Exit,
}
