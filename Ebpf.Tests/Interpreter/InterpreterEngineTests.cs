using Ebpf.Interpreter;
using Ebpf.Isa;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Interpreter;

public class InterpreterEngineTests
{
    [Fact]
    public void Engine_describes_itself()
    {
        var engine = new InterpreterEngine();
        Assert.Equal("interpreter", engine.Name);
        Assert.True(engine.IsAvailable);
        Assert.Null(engine.UnavailableReason);
        Assert.Equal(EngineCapabilities.Interpreted, engine.Capabilities);
    }

    [Fact]
    public void Checks_memory_even_when_the_options_turn_checks_off()
    {
        // ldxdw r0, [r1+0] with no memory: r1 = 0.
        var program = Program(I(OpCodes.LdxDW, 0, 1), I(OpCodes.Exit));
        using var compiled = new InterpreterEngine().Compile(program, null, new ExecutionOptions { MemoryChecks = false });
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(0, e.Pc);
        Assert.Equal(0UL, e.Address);
    }

    [Fact]
    public void A_disposed_program_refuses_to_run()
    {
        var compiled = new InterpreterEngine().Compile(Program(I(OpCodes.Mov64Imm, 0, 0, 0, 1), I(OpCodes.Exit)));
        Assert.Equal(1UL, compiled.Run());
        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
    }

    [Fact]
    public void The_budget_is_exact_per_instruction()
    {
        // mov r0, 0; mov r1, 100; add r0, 2; sub r1, 1; jne r1, 0, -3; exit: 2 + 3 * 100 + 1 = 303 instructions.
        var program = Program(
            I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 100), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Sub64Imm, 1, imm: 1),
            I(OpCodes.JneImm, 1, 0, -3, 0), I(OpCodes.Exit));
        var engine = new InterpreterEngine();
        using (var enough = engine.Compile(program, null, new ExecutionOptions { InstructionBudget = 303 }))
        {
            Assert.Equal(200UL, enough.Run());
        }

        using var short1 = engine.Compile(program, null, new ExecutionOptions { InstructionBudget = 302 });
        var e = Assert.Throws<EbpfBudgetExceededException>(() => short1.Run());
        Assert.Equal(5, e.Pc);
        Assert.Equal(302, e.Budget);

        // With 10 instructions: mov, mov, then (add, sub, jne) x 2, then add at pc 2 is the 9th, sub the 10th, jne the 11th.
        using var ten = engine.Compile(program, null, new ExecutionOptions { InstructionBudget = 10 });
        Assert.Equal(4, Assert.Throws<EbpfBudgetExceededException>(() => ten.Run()).Pc);
    }

    [Fact]
    public void Atomics_work_on_unaligned_addresses_like_aligned_ones()
    {
        // stdw [r10-16], 0; stdw [r10-8], 0; mov r1, 5; lock add [r10-13], r1 (32-bit, unaligned); mov r2, 7;
        // lock fetch add64 [r10-11], r2 (unaligned; r2 = old); ldxdw r0, [r10-16]; add r0, r2
        var program = Program(
            I(OpCodes.StDW, 10, 0, -16, 0), I(OpCodes.StDW, 10, 0, -8, 0),
            I(OpCodes.Mov64Imm, 1, imm: 5), I(OpCodes.AtomicW, 10, 1, -13, (int)AtomicOperation.Add),
            I(OpCodes.Mov64Imm, 2, imm: 7), I(OpCodes.AtomicDW, 10, 2, -11, (int)AtomicOperation.FetchAdd),
            I(OpCodes.LdxDW, 0, 10, -16), I(OpCodes.Add64Reg, 0, 2), I(OpCodes.Exit));
        // Bytes at -16..-9: the 32-bit add puts 5 at byte 3 (0x05000000), the 64-bit add of 7 at byte 5 reads old
        // 0 there (bytes 5..12 are zero) and writes 7 at byte 5: 0x0000_0700_0500_0000 + old (0).
        using var compiled = new InterpreterEngine().Compile(program);
        Assert.Equal(0x0000_0700_0500_0000UL, compiled.Run());
    }
}
