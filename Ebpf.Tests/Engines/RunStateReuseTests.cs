using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

/// <summary>
/// A thread's run state is kept between plain runs and rewritten only when another program runs on the thread: programs
/// with different budgets, stack sizes and outcomes taking turns on one thread must each see their own settings.
/// </summary>
public class RunStateReuseTests
{
    // mov r0, 0; mov r1, 100; loop: add r0, 2; sub r1, 1; jne r1, 0, loop; exit: 303 instructions, r0 = 200.
    private static EbpfProgram Counting() => Program(
        I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 1, imm: 100), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Sub64Imm, 1, imm: 1),
        I(OpCodes.JneImm, 1, 0, -3, 0), I(OpCodes.Exit));

    // Stores 7 at [r10 + lowest] and loads it back.
    private static EbpfProgram DeepStack(short lowest) => Program(
        I(OpCodes.Mov64Imm, 1, imm: 7), I(OpCodes.StxDW, 10, 1, lowest), I(OpCodes.LdxDW, 0, 10, lowest), I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Programs_taking_turns_on_one_thread_keep_their_own_budget_and_stack(string engine)
    {
        var e = TestEngines.Get(engine);
        using var exact = e.Compile(Counting(), options: new ExecutionOptions { InstructionBudget = 303 });
        using var tight = e.Compile(Counting(), options: new ExecutionOptions { InstructionBudget = 302 });
        using var unlimited = e.Compile(Counting());
        using var big = e.Compile(DeepStack(-4096), options: new ExecutionOptions { StackSize = 4096 });
        using var small = e.Compile(DeepStack(-512));
        using var endless = e.Compile(Program(I(OpCodes.Ja, offset: -1), I(OpCodes.Exit)), options: new ExecutionOptions { InstructionBudget = 1000 });

        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(200UL, exact.Run());
            Assert.Throws<EbpfBudgetExceededException>(() => tight.Run());
            Assert.Equal(200UL, exact.Run());          // the failed run left no partial budget behind
            Assert.Equal(7UL, big.Run());
            Assert.Equal(7UL, small.Run());
            var stopped = Assert.Throws<EbpfBudgetExceededException>(() => endless.Run());
            Assert.Equal(1000, stopped.Budget);
            Assert.Equal(200UL, unlimited.Run());
            Assert.Equal(200UL, exact.Run());          // after a program with no budget, the budget is back
            Assert.Throws<EbpfBudgetExceededException>(() => tight.Run());
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_frame_smaller_than_the_last_programs_still_ends_at_its_own_limit(string engine)
    {
        var e = TestEngines.Get(engine);
        using var big = e.Compile(DeepStack(-4096), options: new ExecutionOptions { StackSize = 4096 });
        using var small = e.Compile(DeepStack(-520), options: new ExecutionOptions { StackSize = 512, Verification = VerificationMode.Structural });
        Assert.Equal(7UL, big.Run());
        // 8 bytes below a 512-byte frame: a violation even right after a run with a 4 KiB frame on this thread.
        Assert.Throws<EbpfMemoryAccessException>(() => small.Run());
        Assert.Equal(7UL, big.Run());
        Assert.Throws<EbpfMemoryAccessException>(() => small.Run());
    }
}
