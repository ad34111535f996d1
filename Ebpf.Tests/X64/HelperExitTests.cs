using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// How a run whose helper calls return to the host (x64: the code leaves with the call site and the address of its
/// resume entry in two registers, or with no resume entry at its end) ends after helper calls: with its value, with a
/// memory error or a spent budget found in code entered through a resume entry, with the error of a helper called as a
/// delegate; and a long chain of dependent calls gives the value computed by hand, on every engine. An endless loop
/// whose only call is a helper of any kind (static, delegate, with a context, a tail call that falls through) stops
/// when its run is cancelled: x64 code whose every loop calls a helper that returns to the host has no poll at its
/// backward jumps, since the host checks the cancellation flag after every call (these tests fail when a kind of
/// call does not).
/// </summary>
public class HelperExitTests
{
    /// <summary>r1 * 3 + r2, a static method (x64 calls it at its entry point).</summary>
    private static ulong TripleAdd(ulong a, ulong b, ulong c, ulong d, ulong e) => unchecked((a * 3) + b);

    private static ProgramEnvironment Environment(HelperFunction helper) =>
        new(new HelperTable { new Helper(1, "triple_add", helper) });

    private static ICompiledProgram Compile(string engine, string source, HelperFunction helper, ExecutionOptions? options = null) =>
        TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), Environment(helper), options);

    /// <summary>acc = len (8); 1,024 times acc = triple_add(acc, i): the shape of the helper_calls workload.</summary>
    private const string Chain = """
        mov r0, r2
        mov r6, 0
        loop:
        mov r1, r0
        mov r2, r6
        call 1
        add r6, 1
        jlt r6, 1024, loop
        exit
        """;

    private static ulong ExpectedChain()
    {
        ulong acc = 8;
        for (ulong i = 0; i < 1024; i++)
        {
            acc = unchecked((acc * 3) + i);
        }

        return acc;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_chain_of_dependent_calls_gives_the_value_computed_by_hand(string engine)
    {
        using var byEntry = Compile(engine, Chain, TripleAdd);
        using var byDelegate = Compile(engine, Chain, (a, b, _, _, _) => unchecked((a * 3) + b));
        for (int run = 0; run < 3; run++)
        {
            Assert.Equal(ExpectedChain(), byEntry.Run(new byte[8]));
            Assert.Equal(ExpectedChain(), byDelegate.Run(new byte[8]));
        }
    }

    /// <summary>Five calls in a loop, then a load from 0x1000 (no memory of the run) at pc 7.</summary>
    private const string FaultAfterCalls = """
        mov r6, 0
        loop:
        mov r1, r6
        mov r2, 1
        call 1
        add r6, 1
        jlt r6, 5, loop
        mov r1, 0x1000
        ldxdw r0, [r1+0]
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_memory_error_after_helper_calls_is_reported_at_its_access(string engine)
    {
        using var compiled = Compile(engine, FaultAfterCalls, TripleAdd);
        for (int run = 0; run < 2; run++)
        {
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
            Assert.Equal(7, e.Pc);
            Assert.Equal(0x1000UL, e.Address);
            Assert.Equal(8UL, e.Size);
        }

        // The same program runs again after the errors: nothing of a failed run is left in the engine.
        using var ending = Compile(engine, FaultAfterCalls.Replace("mov r1, 0x1000\nldxdw r0, [r1+0]", "mov r0, r6"), TripleAdd);
        Assert.Equal(5UL, ending.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_budget_spent_in_a_loop_of_helper_calls_ends_the_run_as_on_the_interpreter(string engine)
    {
        const string endless = "mov r6, 0\nloop:\nmov r1, r6\nmov r2, 1\ncall 1\nadd r6, 1\nja loop\nexit";
        var options = new ExecutionOptions { InstructionBudget = 1000 };
        using var reference = Compile("interpreter", endless, TripleAdd, options);
        var expected = Assert.Throws<EbpfBudgetExceededException>(() => reference.Run(new byte[8]));
        using var compiled = Compile(engine, endless, TripleAdd, options);
        var e = Assert.Throws<EbpfBudgetExceededException>(() => compiled.Run(new byte[8]));
        Assert.Equal(expected.Pc, e.Pc);
        Assert.InRange(e.Pc, 1, 5);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_delegate_helper_that_throws_after_several_calls_is_reported_at_its_call(string engine)
    {
        using var compiled = Compile(engine, Chain, (a, b, _, _, _) => b == 700 ? throw new ArithmeticException("at 700") : a + b);
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
        Assert.Equal(4, e.Pc);
        Assert.IsType<ArithmeticException>(e.InnerException);
    }

    /// <summary>
    /// pc 0: r6 = the input; the loop (pcs 1-6) stores 1 into input[0] and calls helper 1 with r1 = 5, r2 = 1, then
    /// jumps back: the call at pc 5 is its only call.
    /// </summary>
    private const string EndlessCalls = "mov r6, r1\nloop:\nmov r7, 1\nstxb [r6+0], r7\nmov r1, 5\nmov r2, 1\ncall 1\nja loop\nexit";

    public static TheoryData<string, string> EnginesAndHelperKinds()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var kind in (string[])["static", "delegate", "context"])
            {
                data.Add(engine.Name, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndHelperKinds))]
    public async Task An_endless_loop_whose_only_call_is_a_helper_stops_when_cancelled(string engine, string kind)
    {
        var environment = kind switch
        {
            "static" => Environment(TripleAdd),
            "delegate" => Environment((a, b, _, _, _) => a + b),
            _ => new ProgramEnvironment(new HelperTable { new Helper(1, "with_context", (HelperContext _, ulong a, ulong b, ulong _, ulong _, ulong _) => a + b) }),
        };
        using var compiled = TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(EndlessCalls), StructuralOnlyVerifier.Instance), environment);
        Assert.Equal(0, Ebpf.X64.Compiler.HelperReturnAnalysis.Plan(compiled.Program)!.YieldInterval);
        var e = await StoreThenCancel.Run(compiled);
        Assert.Contains(e.Pc, (int[])[1, 5, 6]); // the call, or the loop's jump or its target
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task An_endless_loop_whose_only_call_is_a_tail_call_that_falls_through_stops_when_cancelled(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));

        // pc 0: r6 = the input; the loop (pcs 1-8) stores 1 into input[0] and tail-calls slot 5 of map 0 (empty: the call
        // at pc 7 falls through), then jumps back.
        var program = Program(
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.Mov64Imm, 7, imm: 1),
            I(OpCodes.StxB, 6, 7, 0),
            I(OpCodes.Mov64Reg, 1, 6),
            new Instruction(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0), new Instruction(0, 0, 0, 0, 0),
            I(OpCodes.Mov64Imm, 3, imm: 5),
            I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
            I(OpCodes.Ja, offset: -8),
            I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        var e = await StoreThenCancel.Run(compiled);
        Assert.Contains(e.Pc, (int[])[1, 7, 8]); // the call, or the loop's jump or its target
    }
}
