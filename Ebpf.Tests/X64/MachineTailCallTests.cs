using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// <c>bpf_tail_call</c> as a jump in x64 machine code (X64Compiler.TailCall.cs): a target whose every helper call that
/// leaves the code is a tail call through a known array is entered by a jump, and the code itself decides an empty slot,
/// an index out of range, the limit of 33 and a disposed target. Each test runs on every engine (the same answers) and,
/// on x64, checks that neither the helper nor the host's helper loop entered anything
/// (<see cref="X64CompiledProgram.HostEnteredTailCalls"/>), so the jump did.
/// </summary>
public class MachineTailCallTests
{
    /// <summary>The slot no test fills: a tail call there falls through.</summary>
    private const int EmptySlot = 7;

    /// <summary>-ENOENT, what a tail call that falls through returns.</summary>
    private const ulong NotFound = unchecked((ulong)-2L);

    /// <summary>Map 0: the program array (8 slots); bpf_tail_call counts its calls in <paramref name="helperCalls"/>.</summary>
    private static (ProgramEnvironment Environment, ProgramArrayMap Programs) Setup(StrongBox<int> helperCalls)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));
        Assert.True(environment.Helpers.TryGet(LinuxHelperIds.TailCall, out var linux));
        environment.Helpers.Set(new Helper(LinuxHelperIds.TailCall, "bpf_tail_call", (ctx, c, m, index, a4, a5) =>
        {
            Interlocked.Increment(ref helperCalls.Value);
            return linux.Function(ctx, c, m, index, a4, a5);
        })
        {
            Signature = linux.Signature,
            TailCallTargets = linux.TailCallTargets,
        });
        return (environment, programs);
    }

    /// <summary>The tail call of index <paramref name="index"/> through map 0 (r1 as it is).</summary>
    private static Instruction[] TailCall(int index) => TailCallThroughMap0(index);

    /// <summary>
    /// A target x64 can enter by a jump: r6 = the context, a tail call into the empty slot (its only call, which falls
    /// through), then <paramref name="body"/> from pc 6.
    /// </summary>
    private static EbpfProgram Target(params object[] body) =>
        Program([I(OpCodes.Mov64Reg, 6, 1), TailCall(EmptySlot), I(OpCodes.Mov64Reg, 1, 6), .. body]);

    /// <summary>Returns <paramref name="value"/> + the context's first byte (a target).</summary>
    private static EbpfProgram Returning(int value) =>
        Target(I(OpCodes.LdxB, 0, 6, 0), I(OpCodes.Add64Imm, 0, imm: value), I(OpCodes.Exit));

    /// <summary>Tail-calls index <paramref name="index"/>; returns <paramref name="fallThrough"/> when that falls through.</summary>
    private static EbpfProgram Caller(int index, int fallThrough) =>
        Program(TailCall(index), I(OpCodes.Mov64Imm, 0, imm: fallThrough), I(OpCodes.Exit));

    /// <summary>Runs <paramref name="run"/> and, on x64, checks that no tail call was entered by the host's helper loop.</summary>
    private static T ByJump<T>(string engine, Func<T> run)
    {
        int before = X64CompiledProgram.HostEnteredTailCalls;
        var result = run();
        if (engine == X64Engine.EngineName)
        {
            Assert.Equal(before, X64CompiledProgram.HostEnteredTailCalls);
        }

        return result;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_is_entered_without_the_helper(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(Caller(0, 7), environment);
        using var target = TestEngines.Get(engine).Compile(Returning(1000), environment);
        programs.Set(0, target);

        Assert.Equal(1000UL + 0x21, ByJump(engine, () => caller.Run([0x21])));
        Assert.Equal(1000UL + 0x22, ByJump(engine, () => caller.Run([0x22])));
        if (engine == X64Engine.EngineName)
        {
            Assert.NotEqual(0, ((CompiledProgram)target).TailCallDescriptor);
            Assert.Equal(0, calls.Value);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_empty_slot_and_an_index_out_of_range_fall_through_with_enoent(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var empty = TestEngines.Get(engine).Compile(Program(TailCall(3), I(OpCodes.Exit)), environment);
        using var beyond = TestEngines.Get(engine).Compile(Program(TailCall(8), I(OpCodes.Exit)), environment);
        using var far = TestEngines.Get(engine).Compile(Program(TailCall(-1), I(OpCodes.Exit)), environment);

        Assert.Equal(NotFound, ByJump(engine, () => empty.Run([1])));
        Assert.Equal(NotFound, ByJump(engine, () => beyond.Run([1])));
        Assert.Equal(NotFound, ByJump(engine, () => far.Run([1])));
        if (engine == X64Engine.EngineName)
        {
            Assert.Equal(0, calls.Value);
        }
    }

    /// <summary>
    /// x64 leaves out the index's bounds check when the call's basic block sets r3 to a constant below the capacity. An
    /// index the block does not set is checked at run time: here r3 = 9 (beyond the 8 slots) reaches the call on the
    /// jump that skips the block's <c>mov r3, 0</c>; taking that constant for the call would enter slot 0's target.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_index_set_before_the_calls_block_is_checked_at_run_time(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var target = TestEngines.Get(engine).Compile(Returning(1000), environment);
        programs.Set(0, target);
        using var skipping = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Mov64Imm, 3, imm: 9),
                I(OpCodes.LdxB, 4, 1, 0),
                I(OpCodes.JeqImm, 4, imm: 0, offset: 1),
                I(OpCodes.Mov64Imm, 3, imm: 0),
                new Instruction(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0),
                new Instruction(0, 0, 0, 0, 0),
                I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
                I(OpCodes.Exit)),
            environment);
        using var fromInput = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.LdxB, 3, 1, 0),
                new Instruction(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0),
                new Instruction(0, 0, 0, 0, 0),
                I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
                I(OpCodes.Exit)),
            environment);

        Assert.Equal(NotFound, ByJump(engine, () => skipping.Run([0])));
        Assert.Equal(1000UL + 1, ByJump(engine, () => skipping.Run([1])));
        Assert.Equal(1000UL + 0, ByJump(engine, () => fromInput.Run([0])));
        Assert.Equal(NotFound, ByJump(engine, () => fromInput.Run([3])));
        Assert.Equal(NotFound, ByJump(engine, () => fromInput.Run([8])));
        Assert.Equal(NotFound, ByJump(engine, () => fromInput.Run([0xFF])));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_that_tail_calls_itself_stops_after_exactly_33(string engine)
    {
        // Each run adds 1 to the context's first byte: the entry and its 33 tail calls leave 34 there; the 34th call
        // falls through (-ENOENT in r0, kept in r7 and returned in the second byte).
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var self = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Mov64Reg, 6, 1),
                I(OpCodes.LdxB, 7, 6, 0),
                I(OpCodes.Add64Imm, 7, imm: 1),
                I(OpCodes.StxB, 6, 7, 0),
                TailCall(0),
                I(OpCodes.StxB, 6, 0, 1),
                I(OpCodes.LdxB, 0, 6, 0),
                I(OpCodes.Exit)),
            environment);
        programs.Set(0, self);
        var context = new byte[4];

        Assert.Equal(34UL, ByJump(engine, () => self.Run(context)));
        Assert.Equal(34, context[0]);
        Assert.Equal(unchecked((byte)NotFound), context[1]);

        // The count is the run's: the next run gets 33 again.
        context[0] = 100;
        Assert.Equal(134UL, ByJump(engine, () => self.Run(context)));
        if (engine == X64Engine.EngineName)
        {
            Assert.Equal(0, calls.Value);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_disposed_target_is_an_empty_slot(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(Caller(0, 7), environment);
        var target = TestEngines.Get(engine).Compile(Returning(1000), environment);
        programs.Set(0, target);
        Assert.Equal(1000UL + 5, ByJump(engine, () => caller.Run([5])));

        target.Dispose();
        Assert.Equal(7UL, ByJump(engine, () => caller.Run([5])));
        Assert.True(((CompiledProgram)target).IsReleased);
        Assert.Equal(7UL, ByJump(engine, () => caller.Run([6])));
        if (engine == X64Engine.EngineName)
        {
            Assert.Equal(0, calls.Value);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_slot_replaced_between_runs_enters_the_new_target(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(Caller(0, 7), environment);
        using var first = TestEngines.Get(engine).Compile(Returning(1000), environment);
        using var second = TestEngines.Get(engine).Compile(Returning(2000), environment);

        programs.Set(0, first);
        Assert.Equal(1001UL, ByJump(engine, () => caller.Run([1])));
        programs.Set(0, second);
        Assert.Equal(2001UL, ByJump(engine, () => caller.Run([1])));
        Assert.True(programs.Remove(0));
        Assert.Equal(7UL, ByJump(engine, () => caller.Run([1])));
        programs.Set(0, first);
        Assert.Equal(1001UL, ByJump(engine, () => caller.Run([1])));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_slot_replaced_and_its_old_target_disposed_during_runs_on_another_thread(string engine)
    {
        // One thread runs the caller while another puts a new target in the slot, disposes the one before, and now and
        // then empties the slot: every run returns some target's answer or falls through, and every target's code is
        // released in the end.
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(Caller(0, 7), environment);
        var targets = new List<ICompiledProgram>();
        using var done = new CancellationTokenSource();
        var answers = new HashSet<ulong> { 7 };
        const int Replacements = 40;
        for (int k = 1; k <= Replacements; k++)
        {
            answers.Add((ulong)(1000 * k) + 9);
        }

        var runner = Task.Run(() =>
        {
            var seen = new List<ulong>();
            for (int i = 0; i < 200_000 && !done.IsCancellationRequested; i++)
            {
                seen.Add(caller.Run([9]));
            }

            return seen;
        });

        ICompiledProgram? previous = null;
        for (int k = 1; k <= Replacements; k++)
        {
            var target = TestEngines.Get(engine).Compile(Returning(1000 * k), environment);
            targets.Add(target);
            programs.Set(0, target);
            previous?.Dispose();
            previous = target;
            if (k % 8 == 0)
            {
                programs.Remove(0);
            }

            await Task.Delay(1);
        }

        done.Cancel();
        var results = await runner;
        Assert.All(results, r => Assert.Contains(r, answers));
        previous!.Dispose();
        programs.Remove(0);
        Assert.All(targets, t => Assert.True(((CompiledProgram)t).IsReleased));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_memory_violation_in_a_target_names_the_targets_pc(string engine)
    {
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(Caller(0, 7), environment, StructuralOnly);
        using var target = TestEngines.Get(engine).Compile(
            Target(I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.LdxW, 0, 6, 100), I(OpCodes.Exit)), environment, StructuralOnly);
        programs.Set(0, target);

        var error = ByJump(engine, () => Assert.Throws<EbpfMemoryAccessException>(() => caller.Run(new byte[4])));
        Assert.Equal(7, error.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_budget_runs_out_in_a_target_at_the_same_pc_as_in_the_interpreter(string engine)
    {
        // The target counts r0 up in a loop (pc 7 and 8) far longer than the budget allows.
        var options = new ExecutionOptions { InstructionBudget = 1001 };
        var loop = Target(
            I(OpCodes.Mov64Imm, 0, imm: 0),
            I(OpCodes.Add64Imm, 0, imm: 1),
            I(OpCodes.JltImm, 0, imm: 1_000_000, offset: -2),
            I(OpCodes.Exit));
        int Failing(IExecutionEngine engineToRun, bool checkPath)
        {
            var calls = new StrongBox<int>();
            var (environment, programs) = Setup(calls);
            using var map = programs;
            using var caller = engineToRun.Compile(Caller(0, 7), environment, options);
            using var target = engineToRun.Compile(loop, environment, options);
            programs.Set(0, target);
            var error = checkPath
                ? ByJump(engine, () => Assert.Throws<EbpfBudgetExceededException>(() => caller.Run(new byte[4])))
                : Assert.Throws<EbpfBudgetExceededException>(() => caller.Run(new byte[4]));
            return error.Pc;
        }

        int pc = Failing(TestEngines.Get(engine), checkPath: true);
        Assert.InRange(pc, 7, 8);
        Assert.Equal(Failing(TestEngines.Get("interpreter"), checkPath: false), pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_reads_zeros_where_the_callers_before_it_wrote_their_stack(string engine)
    {
        // The caller writes the top, the middle and the bottom of its frame and tail-calls a target that writes a word
        // and tail-calls the reader, which ORs the four words: all zeros, on every run.
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var caller = TestEngines.Get(engine).Compile(
            Program(
                Lddw(7, 0x5a5a5a5a5a5a5a5a),
                I(OpCodes.StxDW, 10, 7, -8),
                I(OpCodes.StxW, 10, 7, -132),
                I(OpCodes.StxDW, 10, 7, -512),
                TailCall(0),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        using var middle = TestEngines.Get(engine).Compile(
            Program(
                Lddw(7, 0x3c3c3c3c3c3c3c3c),
                I(OpCodes.StxDW, 10, 7, -16),
                I(OpCodes.StxB, 10, 7, -3),
                TailCall(1),
                I(OpCodes.Mov64Imm, 0, imm: 8),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        using var reader = TestEngines.Get(engine).Compile(
            Target(
                I(OpCodes.LdxDW, 0, 10, -8),
                I(OpCodes.LdxDW, 7, 10, -16),
                I(OpCodes.Or64Reg, 0, 7),
                I(OpCodes.LdxW, 7, 10, -132),
                I(OpCodes.Or64Reg, 0, 7),
                I(OpCodes.LdxDW, 7, 10, -512),
                I(OpCodes.Or64Reg, 0, 7),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        programs.Set(0, middle);
        programs.Set(1, reader);

        Assert.Equal(0UL, ByJump(engine, () => caller.Run(new byte[4])));
        Assert.Equal(0UL, ByJump(engine, () => caller.Run(new byte[4])));
        if (engine == X64Engine.EngineName)
        {
            Assert.Equal(0, calls.Value);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_through_a_tail_call_that_falls_through_stops_when_cancelled(string engine)
    {
        // The tail call never leaves the x64 code (the slot is empty), so the loop must poll for the stop itself.
        var calls = new StrongBox<int>();
        var (environment, programs) = Setup(calls);
        using var map = programs;
        using var spinner = TestEngines.Get(engine).Compile(
            Program(I(OpCodes.Mov64Reg, 6, 1), TailCall(EmptySlot), I(OpCodes.Mov64Reg, 1, 6), I(OpCodes.Ja, offset: -6)),
            environment,
            StructuralOnly);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var error = Assert.Throws<EbpfRunCancelledException>(() => spinner.Run(new byte[4], stop.Token));
        Assert.InRange(error.Pc, 0, 6);
    }

    /// <summary>A mutable box for a counter a helper's lambda increments.</summary>
    private sealed class StrongBox<T>
    {
        public T Value = default!;
    }
}
