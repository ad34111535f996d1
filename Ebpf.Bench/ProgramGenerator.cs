using Ebpf.Bench.Workloads;
using Ebpf.Isa;

namespace Ebpf.Bench;

/// <summary>
/// Generates programs of any length for the compile-time benchmarks: blocks of 16 instructions mixing 64- and 32-bit
/// ALU operations, stack stores and loads, input loads and short forward branches, ending in <c>exit</c>. A run
/// executes each block once (at most the whole program), reading <see cref="InputLength"/> bytes of input.
/// </summary>
internal static class ProgramGenerator
{
    /// <summary>The input length the generated programs read from.</summary>
    public const int InputLength = 64;

    private const int BlockLength = 16;

    /// <summary>The program of <paramref name="slots"/> instruction slots (at least 2).</summary>
    public static EbpfProgram Create(int slots) => EbpfProgram.Create(Generate(slots), NoPolicyVerifier.Instance, $"generated-{slots}");

    /// <summary>The instructions of the program of <paramref name="slots"/> slots.</summary>
    public static Instruction[] Generate(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 2);
        var code = new List<Instruction>(slots) { new(OpCodes.Mov64Imm, 0, 0, 0, 0) };
        for (var k = 0; code.Count + BlockLength < slots; k++)
        {
            var frame = (short)(-8 * (1 + (k % 8)));
            code.Add(new(OpCodes.Add64Imm, 0, 0, 0, k));
            code.Add(new(OpCodes.Mov64Reg, 3, 0, 0, 0));
            code.Add(new(OpCodes.Lsh64Imm, 3, 0, 0, 3));
            code.Add(new(OpCodes.Xor64Reg, 0, 3, 0, 0));
            code.Add(new(OpCodes.StxDW, 10, 0, frame, 0));
            code.Add(new(OpCodes.LdxDW, 4, 10, frame, 0));
            code.Add(new(OpCodes.LdxB, 5, 1, (short)(k % InputLength), 0));
            code.Add(new(OpCodes.Add64Reg, 0, 5, 0, 0));
            code.Add(new(OpCodes.JgtImm, 0, 0, 2, k * 7));
            code.Add(new(OpCodes.Mul64Imm, 0, 0, 0, 3));
            code.Add(new(OpCodes.Add32Imm, 4, 0, 0, 1));
            code.Add(new(OpCodes.And64Imm, 4, 0, 0, 0xffff));
            code.Add(new(OpCodes.Rsh64Imm, 0, 0, 0, 1));
            code.Add(new(OpCodes.Sub64Reg, 0, 4, 0, 0));
            code.Add(new(OpCodes.JsetImm, 0, 0, 1, 1));
            code.Add(new(OpCodes.Or64Imm, 0, 0, 0, 0x10));
        }

        while (code.Count < slots - 1)
        {
            code.Add(new(OpCodes.Add64Imm, 0, 0, 0, 1));
        }

        code.Add(new(OpCodes.Exit, 0, 0, 0, 0));
        return code.ToArray();
    }
}
