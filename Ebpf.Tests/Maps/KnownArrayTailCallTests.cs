using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Tests.X64;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>
/// <c>bpf_tail_call</c> through a program array an <c>lddw</c> names right before the call: x64 code whose helper calls
/// return to the host enters an x64 target from its own helper loop, without the helper (see
/// <c>X64CompiledProgram.TailCalls.cs</c>); every other engine and target goes through the helper. The run must end the
/// same way either way: the stack zeroed again for the target, the budget carried over, the limit of 33, leases that
/// end on every path (a chain that changes engines half-way included).
/// </summary>
public class KnownArrayTailCallTests
{
    /// <summary>Map 0: the program array.</summary>
    private static (ProgramEnvironment Environment, ProgramArrayMap Programs) Setup()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));
        return (environment, programs);
    }

    /// <summary>The tail call of index <paramref name="index"/> through map 0, r1 untouched (the slots before it).</summary>
    private static Instruction[] TailCall(int index) =>
    [
        new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0),
        I(OpCodes.Mov64Imm, 3, imm: index),
        I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
    ];

    /// <summary>Tail-calls index <paramref name="index"/>; returns <paramref name="fallThrough"/> when that falls through.</summary>
    private static EbpfProgram TailCaller(int index, int fallThrough) =>
        Program(TailCall(index), I(OpCodes.Mov64Imm, 0, imm: fallThrough), I(OpCodes.Exit));

    /// <summary>Returns 1000 + the first byte of its context.</summary>
    private static EbpfProgram FirstByte() => Program(I(OpCodes.LdxB, 0, 1, 0), I(OpCodes.Add64Imm, 0, imm: 1000), I(OpCodes.Exit));

    private static bool Released(ICompiledProgram program) => ((CompiledProgram)program).IsReleased;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_reads_zeros_where_the_caller_wrote_its_stack(string engine)
    {
        // The caller fills the top, the middle and the bottom of the 512-byte frame; the target ORs the three words.
        var (environment, programs) = Setup();
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(
            Program(
                Lddw(7, 0x5a5a5a5a5a5a5a5a),
                I(OpCodes.StxDW, 10, 7, -8),
                I(OpCodes.StxDW, 10, 7, -256),
                I(OpCodes.StxDW, 10, 7, -512),
                TailCall(0),
                I(OpCodes.Mov64Imm, 0, imm: 7),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        using var reader = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.LdxDW, 0, 10, -8),
                I(OpCodes.LdxDW, 6, 10, -256),
                I(OpCodes.Or64Reg, 0, 6),
                I(OpCodes.LdxDW, 6, 10, -512),
                I(OpCodes.Or64Reg, 0, 6),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        programs.Set(0, reader);

        Assert.Equal(0UL, caller.Run(new byte[4]));
        Assert.Equal(0UL, caller.Run(new byte[4]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_target_runs_on_what_the_caller_left_of_the_budget(string engine)
    {
        // The caller runs 3 instructions (lddw, mov and the call, which ends it), the target 3 (ldxb, add, exit): 6 in
        // all. With a budget of 6 the chain completes; with 5 the target's exit is one too many.
        var (environment, programs) = Setup();
        using var map = programs;
        var results = new List<string>();
        foreach (long budget in new long[] { 6, 5, 3 })
        {
            var options = ExecutionOptions.Default with { InstructionBudget = budget };
            using var caller = TestEngines.Get(engine).Compile(TailCaller(0, 7), environment, options);
            using var target = TestEngines.Get(engine).Compile(FirstByte(), environment, options);
            programs.Set(0, target);
            try
            {
                results.Add(caller.Run([5]).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (EbpfBudgetExceededException e)
            {
                results.Add($"budget at {e.Pc}");
            }
        }

        // 3: the caller's call is its third instruction, so the target cannot run its first.
        Assert.Equal(["1005", "budget at 2", "budget at 0"], results);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_chain_that_goes_on_through_another_engine_ends_there_and_leaves_no_lease_behind(string engine)
    {
        // entry (engine) -> middle (engine) -> last (the interpreter, entered through the helper and the run path
        // whatever the entry's engine): the leases stack up in the thread's slots in both orders.
        var (environment, programs) = Setup();
        using var map = programs;
        var entry = TestEngines.Get(engine).Compile(TailCaller(1, 7), environment);
        var middle = TestEngines.Get(engine).Compile(TailCaller(2, 8), environment);
        var last = TestEngines.All[0].Compile(FirstByte(), environment);
        programs.Set(1, middle);
        programs.Set(2, last);

        for (int run = 0; run < 3; run++)
        {
            Assert.Equal(1000UL + 0x33, entry.Run([0x33]));
        }

        // The other order: the interpreter in the middle.
        var interpreted = TestEngines.All[0].Compile(TailCaller(2, 9), environment);
        var final = TestEngines.Get(engine).Compile(FirstByte(), environment);
        programs.Set(1, interpreted);
        programs.Set(2, final);
        Assert.Equal(1000UL + 0x44, entry.Run([0x44]));

        foreach (var program in new[] { entry, middle, last, interpreted, final })
        {
            program.Dispose();
            Assert.True(Released(program));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_that_tail_calls_itself_runs_34_times_and_leaves_no_lease_behind(string engine)
    {
        // Each run adds 1 to the context's first byte: the entry and its 33 tail calls leave 34 there, and the 34th
        // call falls through to return it.
        var (environment, programs) = Setup();
        using var map = programs;
        var self = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Mov64Reg, 6, 1),
                I(OpCodes.LdxB, 7, 6, 0),
                I(OpCodes.Add64Imm, 7, imm: 1),
                I(OpCodes.StxB, 6, 7, 0),
                TailCall(0),
                I(OpCodes.LdxB, 0, 6, 0),
                I(OpCodes.Exit)),
            environment);
        programs.Set(0, self);
        var context = new byte[4];

        Assert.Equal(1UL + LinuxHelpers.MaxTailCalls, self.Run(context));
        Assert.Equal(1 + LinuxHelpers.MaxTailCalls, context[0]);

        self.Dispose();
        Assert.True(Released(self));
    }

    [Fact]
    public void X64_enters_an_x64_target_without_the_helper_and_calls_the_helper_for_everything_else()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // bpf_tail_call replaced by one that counts its calls and does what Linux's does, with the same targets.
        var (environment, programs) = Setup();
        using var map = programs;
        int helperCalls = 0;
        Assert.True(environment.Helpers.TryGet(LinuxHelperIds.TailCall, out var linux));
        environment.Helpers.Set(new Helper(LinuxHelperIds.TailCall, "bpf_tail_call", (ctx, c, m, index, a4, a5) =>
        {
            helperCalls++;
            return linux.Function(ctx, c, m, index, a4, a5);
        })
        {
            Signature = linux.Signature,
            TailCallTargets = linux.TailCallTargets,
        });
        var x64 = new X64Engine();
        using var entry = x64.Compile(TailCaller(0, 7), environment);
        using var target = x64.Compile(FirstByte(), environment);
        using var interpreted = TestEngines.All[0].Compile(FirstByte(), environment);

        programs.Set(0, target);
        Assert.Equal(1000UL + 0x11, entry.Run([0x11]));
        Assert.Equal(0, helperCalls);

        programs.Set(0, interpreted);
        Assert.Equal(1000UL + 0x12, entry.Run([0x12]));
        Assert.Equal(1, helperCalls);

        // An empty slot falls through in the machine code itself, as the helper would (-ENOENT, on after the call).
        Assert.True(programs.Remove(0));
        Assert.Equal(7UL, entry.Run([0x13]));
        Assert.Equal(1, helperCalls);

        // r2 copied from another register: the compiler does not know the array, so the helper is called.
        using var unknown = x64.Compile(
            Program(
                new Instruction[] { new(OpCodes.Lddw, 7, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0) },
                I(OpCodes.Mov64Reg, 2, 7),
                I(OpCodes.Mov64Imm, 3, imm: 0),
                I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
                I(OpCodes.Mov64Imm, 0, imm: 7),
                I(OpCodes.Exit)),
            environment);
        programs.Set(0, target);
        Assert.Equal(1000UL + 0x14, unknown.Run([0x14]));
        Assert.Equal(2, helperCalls);
        Assert.Equal(1000UL + 0x15, entry.Run([0x15]));
        Assert.Equal(2, helperCalls);
    }
}
