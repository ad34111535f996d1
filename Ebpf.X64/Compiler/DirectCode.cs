namespace Ebpf.X64.Compiler;

/// <summary>The direct body of a program (see <c>X64Compiler.CompileWithDirect</c>).</summary>
/// <param name="Code">The position-independent machine code of <c>(ulong r1, ulong r2) -&gt; (ulong r0, ulong fault)</c>; the entry point is at offset 0.</param>
/// <param name="PcOffsets">For each slot, the code offset where its translation starts (-1 for second lddw slots).</param>
internal sealed record DirectCode(byte[] Code, int[] PcOffsets);
