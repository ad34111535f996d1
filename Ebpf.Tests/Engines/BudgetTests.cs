using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public class BudgetTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Jump_to_itself_stops_with_the_budget_error(string engine)
    {
        var program = Program(I(OpCodes.Ja, offset: -1), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, program, options: new ExecutionOptions { InstructionBudget = 1000 }));
        Assert.Equal(RuntimeErrorKind.BudgetExceeded, e.Kind);
        Assert.Equal(0, e.Pc);
        Assert.Equal(1000, e.Budget);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_endless_counter_loop_stops_inside_the_loop(string engine)
    {
        // mov r0, 0; add r0, 1; ja -2
        var program = Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, program, options: new ExecutionOptions { InstructionBudget = 10_000 }));
        // Instruction 1 is at pc 0, then the loop runs pc 1 (even numbers) and pc 2 (odd ones): number 10,001 is at pc 2.
        Assert.Equal(2, e.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_terminating_loop_within_the_budget_completes(string engine)
    {
        // mov r0, 0; mov r1, 100; loop: add r0, 2; sub r1, 1; jne r1, 0, loop; exit  -> 2 + 300 + 1 = 303 instructions
        var program = Program(
            I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 100), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Sub64Imm, 1, imm: 1),
            I(OpCodes.JneImm, 1, 0, -3, 0), I(OpCodes.Exit));
        Assert.Equal(200UL, Run(engine, program, options: new ExecutionOptions { InstructionBudget = 303 }));
        Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, program, options: new ExecutionOptions { InstructionBudget = 100 }));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_budget_counts_instructions_of_called_functions(string engine)
    {
        // main: call f; exit.  f: ja -1 (forever)
        var program = Program(I(OpCodes.Call, 0, 1, 0, 1), I(OpCodes.Exit), I(OpCodes.Ja, offset: -1), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, program, options: new ExecutionOptions { InstructionBudget = 50 }));
        Assert.Equal(2, e.Pc);
    }
}
