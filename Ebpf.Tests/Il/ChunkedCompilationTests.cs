using CsCheck;
using Ebpf.Fuzzing.Generation;
using Ebpf.Il;
using Ebpf.Interpreter;
using Ebpf.Isa;
using Ebpf.Tests.Differential;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Il;

/// <summary>
/// Long functions compiled as several methods ("chunks", <see cref="IlEngine.ChunkSlots"/>): the same results and the
/// same errors at the same pcs as the interpreter, with jumps, loops, helper calls and local calls across chunks. The
/// chunk size is lowered so the programs stay small enough to keep the tests fast.
/// </summary>
public class ChunkedCompilationTests
{
    private const int ChunkSlots = 256;
    private const int InputLength = 64;
    private const int HelperId = 7;

    private static readonly IExecutionEngine Reference = new InterpreterEngine();

    private static readonly IlEngine Chunked = new() { ChunkSlots = ChunkSlots };

    [Fact]
    public void A_long_program_is_compiled_in_chunks()
    {
        using var compiled = (IlCompiledProgram)new IlEngine { ChunkSlots = ChunkSlots, RecordIlListing = true }
            .Compile(LongProgram(blocks: 100, badAccessBlock: null), Environment());
        Assert.Contains("function 0 chunk 1: slots", compiled.IlListing);
        Assert.Contains(".method ebpf_program_f0_c4\n", compiled.IlListing);
        Assert.Contains("ldarg.s 4\n    switch (L_", compiled.IlListing);
        Assert.Contains("LEAVE_", compiled.IlListing);
        Assert.DoesNotContain("function 1 chunk", compiled.IlListing);
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, 10_000_000L)]
    [InlineData(false, null)]
    public void A_long_program_gives_the_interpreters_result_and_memory(bool memoryChecks, long? budget)
    {
        var program = LongProgram(blocks: 1700, badAccessBlock: null);
        Assert.True(program.Length > 20_000);
        // No wall-clock limit: the program ends by itself, and a loaded machine must not turn it into a time-out.
        var options = new ExecutionOptions { MemoryChecks = memoryChecks, InstructionBudget = budget, RunTimeLimit = null };
        var (expected, expectedInput) = RunOn(Reference, program, options);
        var (actual, actualInput) = RunOn(Chunked, program, options);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedInput, actualInput);
    }

    [Fact]
    public void A_memory_violation_in_a_later_chunk_has_the_interpreters_kind_and_pc()
    {
        var program = LongProgram(blocks: 300, badAccessBlock: 250);
        var expected = Assert.Throws<EbpfMemoryAccessException>(() => RunOn(Reference, program, ExecutionOptions.Default));
        var actual = Assert.Throws<EbpfMemoryAccessException>(() => RunOn(Chunked, program, ExecutionOptions.Default));
        Assert.True(expected.Pc > 4 * ChunkSlots);
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Pc, actual.Pc);
        Assert.Equal(expected.Size, actual.Size);
        Assert.Equal(expected.Access, actual.Access);
    }

    [Theory]
    [InlineData(1_500L)]
    [InlineData(2_499L)]
    [InlineData(3_333L)]
    public void A_budget_stop_in_a_later_chunk_is_at_the_interpreters_pc(long budget)
    {
        var program = LongProgram(blocks: 300, badAccessBlock: null);
        var options = new ExecutionOptions { InstructionBudget = budget };
        var expected = Assert.Throws<EbpfBudgetExceededException>(() => RunOn(Reference, program, options));
        var actual = Assert.Throws<EbpfBudgetExceededException>(() => RunOn(Chunked, program, options));
        Assert.True(expected.Pc > ChunkSlots);
        Assert.Equal(expected.Pc, actual.Pc);
        Assert.Equal(expected.Budget, actual.Budget);
    }

    [Fact]
    public void Generated_programs_split_into_tiny_chunks_behave_like_the_interpreter()
    {
        // Chunks of a few slots: nearly every jump, call and fall-through crosses from one method to another.
        var tiny = new IlEngine { ChunkSlots = 3 };
        var environment = DifferentialTests.Environment();
        ProgramGenerator.Program.Sample(
            generated =>
            {
                var program = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
                var options = GeneratedCases.OptionsFor(generated.Budget);
                Assert.Equal(
                    DifferentialTests.Outcome(Reference, program, generated.Input, environment, options),
                    DifferentialTests.Outcome(tiny, program, generated.Input, environment, options));
            },
            iter: 300,
            print: generated => generated.ToString());
    }

    private static (ulong R0, byte[] Input) RunOn(IExecutionEngine engine, EbpfProgram program, ExecutionOptions options)
    {
        var input = new byte[InputLength];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)((i * 37) + 5);
        }

        using var compiled = engine.Compile(program, Environment(), options);
        return (compiled.Run(input), input);
    }

    private static ProgramEnvironment Environment()
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(HelperId, "triple", (a, b, _, _, _) => (a * 3) + b);
        return environment;
    }

    /// <summary>
    /// A long entry function: blocks of ALU work, stack stores and loads, input loads, short forward branches, helper
    /// calls, local calls and jumps over the next blocks, all run three times by a backward jump from the end to the
    /// start (the second pass also jumps far ahead), then a store into the input; and a short second function.
    /// <paramref name="badAccessBlock"/> adds a load past the input's end in that block.
    /// </summary>
    private static EbpfProgram LongProgram(int blocks, int? badAccessBlock)
    {
        var code = new List<Instruction>
        {
            I(OpCodes.Mov64Imm, 6, imm: 0),
            I(OpCodes.Mov64Imm, 0, imm: 0),
            I(OpCodes.Mov64Reg, 7, 1),
        };
        int loop = code.Count;
        var blockStarts = new int[blocks + 1];
        var pending = new List<(int At, int Block)>();
        var localCalls = new List<int>();
        for (int k = 0; k < blocks; k++)
        {
            blockStarts[k] = code.Count;
            var frame = (short)(-8 * (1 + (k % 8)));
            code.Add(I(OpCodes.Add64Imm, 0, imm: k));
            code.Add(I(OpCodes.Mov64Reg, 3, 0));
            code.Add(I(OpCodes.Lsh64Imm, 3, imm: 3));
            code.Add(I(OpCodes.Xor64Reg, 0, 3));
            code.Add(I(OpCodes.StxDW, 10, 0, frame));
            code.Add(I(OpCodes.LdxDW, 4, 10, frame));
            code.Add(I(OpCodes.LdxB, 5, 7, (short)(k % InputLength)));
            code.Add(I(OpCodes.Add64Reg, 0, 5));
            code.Add(I(OpCodes.JgtImm, 0, offset: 2, imm: k * 7));
            code.Add(I(OpCodes.Mul64Imm, 0, imm: 3));
            code.Add(I(OpCodes.Add32Imm, 4, imm: 1));
            code.Add(I(OpCodes.Sub64Reg, 0, 4));
            if (k % 13 == 0)
            {
                code.Add(I(OpCodes.Mov64Reg, 1, 0));
                code.Add(I(OpCodes.Mov64Imm, 2, imm: k));
                code.Add(I(OpCodes.Call, imm: HelperId));
            }

            if (k % 29 == 3)
            {
                code.Add(I(OpCodes.Mov64Reg, 1, 0));
                localCalls.Add(code.Count);
                code.Add(I(OpCodes.Call, src: 1));
                code.Add(I(OpCodes.Add64Reg, 0, 6));
            }

            if (k % 11 == 5 && k + 3 < blocks)
            {
                // Skip the next two blocks when bit 2 of r0 is set.
                pending.Add((code.Count, k + 3));
                code.Add(I(OpCodes.JsetImm, 0, imm: 4));
            }

            if (k == 2 && blocks > 40)
            {
                // On the second pass, jump far ahead.
                pending.Add((code.Count, blocks - 20));
                code.Add(I(OpCodes.JeqImm, 6, imm: 1));
            }

            if (k == badAccessBlock)
            {
                code.Add(I(OpCodes.LdxDW, 0, 7, 100));
            }
        }

        blockStarts[blocks] = code.Count;
        code.Add(I(OpCodes.Add64Imm, 6, imm: 1));
        code.Add(I(OpCodes.JltImm, 6, offset: (short)(loop - code.Count - 1), imm: 3));
        code.Add(I(OpCodes.StxB, 7, 0, 3));
        code.Add(I(OpCodes.Exit));
        int function = code.Count;
        code.Add(I(OpCodes.Mov64Reg, 0, 1));
        code.Add(I(OpCodes.Rsh64Imm, 0, imm: 7));
        code.Add(I(OpCodes.Add64Imm, 0, imm: 11));
        code.Add(I(OpCodes.StxDW, 10, 0, -8));
        code.Add(I(OpCodes.LdxDW, 0, 10, -8));
        code.Add(I(OpCodes.Exit));

        foreach (var (at, block) in pending)
        {
            var insn = code[at];
            code[at] = new Instruction(insn.OpCode, insn.Dst, insn.Src, checked((short)(blockStarts[block] - at - 1)), insn.Imm);
        }

        foreach (int at in localCalls)
        {
            code[at] = I(OpCodes.Call, src: 1, imm: function - at - 1);
        }

        return EbpfProgram.Create(code.ToArray(), StructuralOnlyVerifier.Instance);
    }
}
