using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// Programs aimed at the places where a native translation can go wrong (registers the x86 instructions use implicitly,
/// zero-extension, frames), with expected values computed by hand. They run on every engine.
/// </summary>
public class CodegenCornerTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_32_bit_shift_by_a_register_count_of_32_still_zero_extends(string engine)
    {
        var program = Program(Lddw(0, 0xffffffff_00000005), I(OpCodes.Mov64Imm, 1, imm: 32), I(OpCodes.Lsh32Reg, 0, 1), I(OpCodes.Exit));
        Assert.Equal(5UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Division_keeps_r0_and_r3_intact(string engine)
    {
        // r0 = 77, r3 = 123, r6 = 100 / 7 = 14, r7 = 100 % 9 = 1: r0 + r6 * 1000 + r3 * 1000000 + r7 * 10
        var program = Program(
            I(OpCodes.Mov64Imm, 0, imm: 77),
            I(OpCodes.Mov64Imm, 3, imm: 123),
            I(OpCodes.Mov64Imm, 6, imm: 100),
            I(OpCodes.Mov64Imm, 7, imm: 7),
            I(OpCodes.Div64Reg, 6, 7),
            I(OpCodes.Mov64Imm, 7, imm: 100),
            I(OpCodes.Mod32Imm, 7, imm: 9),
            I(OpCodes.Mul64Imm, 6, imm: 1000),
            I(OpCodes.Mul64Imm, 3, imm: 1000000),
            I(OpCodes.Mul64Imm, 7, imm: 10),
            I(OpCodes.Add64Reg, 0, 6),
            I(OpCodes.Add64Reg, 0, 3),
            I(OpCodes.Add64Reg, 0, 7),
            I(OpCodes.Exit));
        Assert.Equal(77UL + 14000 + 123000000 + 10, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Division_by_r0_and_into_r0(string engine)
    {
        // r6 = 10 / r0(3) = 3; r0 = 17 % r3(5) = 2 (32-bit); r0 += r6 -> 5; sdiv r0 by r0 -> 1
        var program = Program(
            I(OpCodes.Mov64Imm, 0, imm: 3),
            I(OpCodes.Mov64Imm, 6, imm: 10),
            I(OpCodes.Div64Reg, 6, 0),
            I(OpCodes.Mov64Imm, 0, imm: 17),
            I(OpCodes.Mov64Imm, 3, imm: 5),
            I(OpCodes.Mod32Reg, 0, 3),
            I(OpCodes.Add64Reg, 0, 6),
            I(OpCodes.Mul64Imm, 0, imm: 10),
            I(OpCodes.Mov64Reg, 7, 0),
            I(OpCodes.Div64Reg, 7, 7, 1),
            I(OpCodes.Add64Reg, 0, 7),
            I(OpCodes.Exit));
        Assert.Equal(51UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Atomic_fetch_or_with_r0_as_source(string engine)
    {
        // mem = 0x0f; r0 = 0xf0; lock fetch_or [r1], r0 -> r0 = 0x0f, mem = 0xff; r0 += mem << 8
        var program = Program(
            I(OpCodes.Mov64Imm, 0, imm: 0xf0),
            I(OpCodes.AtomicDW, 1, 0, 0, (int)AtomicOperation.FetchOr),
            I(OpCodes.LdxDW, 2, 1, 0),
            I(OpCodes.Lsh64Imm, 2, imm: 8),
            I(OpCodes.Add64Reg, 0, 2),
            I(OpCodes.Exit));
        Assert.Equal(0xff0fUL, Run(engine, program, [0x0f, 0, 0, 0, 0, 0, 0, 0]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Atomic_fetch_xor_32_zero_extends_the_fetched_value_and_keeps_r0(string engine)
    {
        // r2 = -1 (all ones); lock fetch_xor32 [r1+4], r2 -> r2 = 0x44332211 (zero-extended), word = 0xbbccddee; r0 stays 7
        var program = Program(
            I(OpCodes.Mov64Imm, 0, imm: 7),
            I(OpCodes.Mov64Imm, 2, imm: -1),
            I(OpCodes.AtomicW, 1, 2, 4, (int)AtomicOperation.FetchXor),
            I(OpCodes.LdxW, 3, 1, 4),
            I(OpCodes.Lsh64Imm, 3, imm: 32),
            I(OpCodes.Add64Reg, 2, 3),
            I(OpCodes.Add64Reg, 0, 2),
            I(OpCodes.Exit));
        Assert.Equal(0xbbccddee_44332211UL + 7, Run(engine, program, [0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Helper_calls_leave_r1_to_r5_unchanged(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(9, "zero", (_, _, _, _, _) => 0);
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 1),
            I(OpCodes.Mov64Imm, 2, imm: 2),
            I(OpCodes.Mov64Imm, 3, imm: 3),
            I(OpCodes.Mov64Imm, 4, imm: 4),
            I(OpCodes.Mov64Imm, 5, imm: 5),
            I(OpCodes.Call, imm: 9),
            I(OpCodes.Mul64Imm, 2, imm: 10),
            I(OpCodes.Mul64Imm, 3, imm: 100),
            I(OpCodes.Mul64Imm, 4, imm: 1000),
            I(OpCodes.Mul64Imm, 5, imm: 10000),
            I(OpCodes.Add64Reg, 0, 1),
            I(OpCodes.Add64Reg, 0, 2),
            I(OpCodes.Add64Reg, 0, 3),
            I(OpCodes.Add64Reg, 0, 4),
            I(OpCodes.Add64Reg, 0, 5),
            I(OpCodes.Exit));
        Assert.Equal(54321UL, Run(engine, program, environment: environment, options: StructuralOnly));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Local_calls_restore_r6_to_r9_and_the_frame_pointer(string engine)
    {
        // The callee clobbers r6..r9 and writes the same offset of its own frame; the caller's slot and registers survive.
        var program = Program(
            I(OpCodes.Mov64Imm, 6, imm: 6),
            I(OpCodes.Mov64Imm, 7, imm: 7),
            I(OpCodes.Mov64Imm, 8, imm: 8),
            I(OpCodes.Mov64Imm, 9, imm: 9),
            I(OpCodes.StDW, 10, 0, -8, 1000),
            I(OpCodes.Call, 0, 1, 0, 6),        // pc 5 -> pc 12
            I(OpCodes.LdxDW, 0, 10, -8),
            I(OpCodes.Add64Reg, 0, 6),
            I(OpCodes.Add64Reg, 0, 7),
            I(OpCodes.Add64Reg, 0, 8),
            I(OpCodes.Add64Reg, 0, 9),
            I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 6, imm: 0),      // pc 12
            I(OpCodes.Mov64Imm, 7, imm: 0),
            I(OpCodes.Mov64Imm, 8, imm: 0),
            I(OpCodes.Mov64Imm, 9, imm: 0),
            I(OpCodes.StDW, 10, 0, -8, 50000),
            I(OpCodes.Exit));
        Assert.Equal(1000UL + 30, Run(engine, program, options: StructuralOnly));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_entry_function_can_call_itself(string engine)
    {
        // pc 0: if r6 != 0 -> pc 4; r6 = 1; call pc 0; exit. pc 4: r0 = 42; exit.
        var program = Program(
            I(OpCodes.JneImm, 6, 0, 3, 0),
            I(OpCodes.Mov64Imm, 6, imm: 1),
            I(OpCodes.Call, 0, 1, 0, -3),
            I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 0, imm: 42),
            I(OpCodes.Exit));
        Assert.Equal(42UL, Run(engine, program, options: StructuralOnly));
    }

    [Theory]
    [InlineData(10, 2)]
    [InlineData(11, 1)]
    [InlineData(1, 1)]
    public void The_budget_stops_at_the_instruction_that_exceeds_it(long budget, int pc)
    {
        // pc 0: r0 = 0; pc 1: r0 += 1; pc 2: ja pc 1 -- an endless loop; instruction budget+1 is the one that fails.
        var program = Program(I(OpCodes.Mov64Imm, 0, imm: 0), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Ja, offset: -2));
        foreach (var engine in TestEngines.All)
        {
            using var compiled = engine.Compile(program, null, new ExecutionOptions { InstructionBudget = budget });
            var e = Assert.Throws<EbpfBudgetExceededException>(() => compiled.Run());
            Assert.Equal(pc, e.Pc);
            Assert.Equal(budget, e.Budget);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_fault_before_the_budget_runs_out_wins_over_the_budget(string engine)
    {
        // pc 0: r0 = 0; pc 1: ldxdw r0, [r1+100] (outside the 8-byte input); pc 2, 3: r0 += 1; pc 4: exit.
        var program = Program(
            I(OpCodes.Mov64Imm, 0, imm: 0), I(OpCodes.LdxDW, 0, 1, 100), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Exit));
        using var three = TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { InstructionBudget = 3 });
        Assert.Equal(1, Assert.Throws<EbpfMemoryAccessException>(() => three.Run(new byte[8])).Pc);
        using var one = TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { InstructionBudget = 1 });
        Assert.Equal(1, Assert.Throws<EbpfBudgetExceededException>(() => one.Run(new byte[8])).Pc);
    }
}
