using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>bpf_tail_call through a program array, with programs built by hand.</summary>
public class TailCallTests
{
    /// <summary>Map 0: an array counting runs; map 1: the program array.</summary>
    private static (ProgramEnvironment Environment, ArrayMap Counter, ProgramArrayMap Programs) Setup()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var counter = new ArrayMap("counter", 8, 1);
        var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(counter));
        Assert.Equal(1, environment.AddMap(programs));
        return (environment, counter, programs);
    }

    /// <summary>Counts its run in map 0, tail-calls index <paramref name="index"/> of map 1, then returns 7.</summary>
    private static EbpfProgram Counting(int index) => Program(
        I(OpCodes.Mov64Reg, 6, 1),
        new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.MapValueByIndex, 0, 0), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Imm, 3, 0, 0, 1),
        I(OpCodes.AtomicDW, 2, 3, 0, 0x00),
        I(OpCodes.Mov64Reg, 1, 6),
        new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 1), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Imm, 3, 0, 0, index),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.TailCall),
        I(OpCodes.Mov64Imm, 0, 0, 0, 7),
        I(OpCodes.Exit));

    /// <summary>Returns 1000 + the first byte of its context.</summary>
    private static EbpfProgram FirstByte() => Program(
        I(OpCodes.LdxB, 0, 1, 0),
        I(OpCodes.Add64Imm, 0, 0, 0, 1000),
        I(OpCodes.Exit));

    private static ulong Count(ArrayMap counter) => counter.TryLookup(0u, out ulong value) ? value : ulong.MaxValue;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_chain_of_tail_calls_stops_after_33(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var self = TestEngines.Get(engine).Compile(Counting(0), environment))
        {
            programs.Set(0, self);
            Assert.Equal(7UL, self.Run(new byte[4]));
            Assert.Equal(1UL + LinuxHelpers.MaxTailCalls, Count(counter));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_missing_index_continues_after_the_call(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(5), environment))
        using (var outOfRange = TestEngines.Get(engine).Compile(Counting(8), environment))
        {
            programs.Set(0, entry);
            Assert.Equal(7UL, entry.Run(new byte[4]));
            Assert.Equal(7UL, outOfRange.Run(new byte[4]));
            Assert.Equal(2UL, Count(counter));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_target_runs_with_the_same_context_and_its_result_ends_the_run(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(3), environment))
        using (var target = TestEngines.Get(engine).Compile(FirstByte(), environment))
        using (var byInterpreter = TestEngines.All[0].Compile(FirstByte(), environment))
        {
            programs.Set(3, target);
            Assert.Equal(1000UL + 0x5a, entry.Run([0x5a, 1, 2, 3]));
            programs.Set(3, byInterpreter);
            Assert.Equal(1000UL + 0x21, entry.Run([0x21, 1, 2, 3]));
            Assert.True(programs.Remove(3));
            Assert.False(programs.Remove(3));
            Assert.Equal(7UL, entry.Run([0x21, 1, 2, 3]));
            Assert.Equal(3UL, Count(counter));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_compiled_with_another_environment_is_a_helper_error(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(0), environment))
        using (var stranger = TestEngines.Get(engine).Compile(FirstByte(), new ProgramEnvironment()))
        {
            programs.Set(0, stranger);
            var error = Assert.Throws<EbpfHelperException>(() => entry.Run(new byte[4]));
            Assert.Equal(9, error.Pc);
            Assert.Contains("another environment", error.Message);
        }
    }

    [Fact]
    public void Program_arrays_hold_compiled_programs_only_at_valid_indices()
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var compiled = TestEngines.All[0].Compile(FirstByte(), environment))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => programs.Set(8, compiled));
            programs.Set(2, compiled);
            Assert.Same(compiled, programs.Get(2));
            Assert.Equal(1, programs.Count);
            Assert.Null(programs.Get(3));
            Assert.Null(programs.Get(uint.MaxValue));
            Assert.Equal(MapStatus.InvalidArgument, programs.Update(2u, 0u));
            Assert.Equal([new(2u, 2u)], programs.GetEntries<uint, uint>());
            Assert.Equal(MapStatus.Success, programs.Delete(2u));
            Assert.Equal(MapStatus.NotFound, programs.Delete(2u));
            Assert.Equal(0, programs.Count);
        }
    }

    /// <summary>The program: tail-calls index 0 of map 1, then returns 1000.</summary>
    private static EbpfProgram TailCallThen1000() => Program(
        new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 1), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Imm, 3, 0, 0, 0),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.TailCall),
        I(OpCodes.Mov64Imm, 0, 0, 0, 1000),
        I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_slot_whose_program_was_disposed_behaves_as_empty(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(TailCallThen1000(), environment))
        {
            var target = TestEngines.Get(engine).Compile(FirstByte(), environment);
            programs.Set(0, target);
            Assert.Equal(1000UL + 0x21, entry.Run([0x21]));
            target.Dispose();
            Assert.Equal(1000UL, entry.Run([0x21]));
            Assert.Null(programs.Get(0));
            Assert.Equal(0, programs.Count);
            Assert.Empty(programs.GetEntries<uint, uint>());
            Assert.False(programs.Remove(0));
            Assert.Throws<ArgumentException>(() => programs.Set(1, target));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_disposed_while_a_tail_call_runs_it_finishes_that_run(string engine)
    {
        // The target calls helper 1000, which disposes the target itself: its code must stay until the run ends (on
        // x64 an unmapped page under the running thread would crash the process), and later tail calls fall through.
        var (environment, counter, programs) = Setup();
        using var counterMap = counter;
        using var programArray = programs;
        ICompiledProgram? target = null;
        environment.Helpers.Add(1000, "dispose_target", (_, _, _, _, _) =>
        {
            target!.Dispose();
            return 5;
        });
        var disposing = Program(
            I(OpCodes.Call, 0, 0, 0, 1000),
            I(OpCodes.Add64Imm, 0, 0, 0, 2000),
            I(OpCodes.Exit));
        using var entry = TestEngines.Get(engine).Compile(TailCallThen1000(), environment);
        target = TestEngines.Get(engine).Compile(disposing, environment);
        programs.Set(0, target);
        Assert.Equal(2005UL, entry.Run(new byte[4]));
        Assert.Throws<ObjectDisposedException>(() => target.Run());
        Assert.Equal(1000UL, entry.Run(new byte[4]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_array_rejects_a_foreign_implementation_of_the_contract(string engine)
    {
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var inner = TestEngines.Get(engine).Compile(FirstByte(), environment))
        {
            var foreign = new ForeignProgram(inner);
            Assert.Equal(1000UL + 3, foreign.Run([3]));
            var error = Assert.Throws<ArgumentException>(() => programs.Set(0, foreign));
            Assert.Equal("program", error.ParamName);
            Assert.Contains(nameof(ForeignProgram), error.Message);
            Assert.Null(programs.Get(0));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_fault_in_a_target_reports_the_targets_pc_and_instruction(string engine)
    {
        // The target's pc 2 reads 8 bytes at 64 into a 4-byte input; the entry's pc 2 is the second half of an lddw, so
        // a fault reported against the entry (or at the tail call's pc 9) names another instruction.
        var (environment, counter, programs) = Setup();
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(3), environment))
        using (var target = TestEngines.Get(engine).Compile(
            Program(I(OpCodes.Mov64Imm, 0, 0, 0, 1), I(OpCodes.Mov64Imm, 0, 0, 0, 2), I(OpCodes.LdxDW, 0, 1, 64), I(OpCodes.Exit)), environment))
        {
            programs.Set(3, target);
            var error = Assert.Throws<EbpfMemoryAccessException>(() => entry.Run(new byte[4]));
            Assert.Equal(2, error.Pc);
            Assert.Equal(OpCodes.LdxDW, error.Instruction.OpCode);
            Assert.Equal(1UL, Count(counter));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_token_cancelled_inside_a_target_stops_the_run_in_the_target(string engine)
    {
        // The target's pc 1 calls helper 1001, which cancels the run's token: a run cancelled during a helper call stops
        // when the call returns, so at the target's call (the entry's pc 1 is an lddw, its tail call is at pc 9). Then a
        // run whose token another thread cancels while the target loops at its pc 2 stops in the target too.
        var (environment, counter, programs) = Setup();
        var cancel = new CancellationTokenSource();
        using var looping = new ManualResetEventSlim();
        bool cancelInHelper = true;
        environment.Helpers.Add(1001, "cancel_or_signal", (_, _, _, _, _) =>
        {
            if (cancelInHelper)
            {
                cancel.Cancel();
            }
            else
            {
                looping.Set();
            }

            return 0;
        });
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(3), environment))
        using (var target = TestEngines.Get(engine).Compile(
            Program(I(OpCodes.Mov64Imm, 0, 0, 0, 0), I(OpCodes.Call, 0, 0, 0, 1001), I(OpCodes.Ja, 0, 0, -1), I(OpCodes.Exit)), environment))
        {
            programs.Set(3, target);
            var error = Assert.Throws<EbpfRunCancelledException>(() => entry.Run(new byte[4], cancel.Token));
            Assert.Equal(1, error.Pc);
            Assert.Equal(OpCodes.Call, error.Instruction.OpCode);
            Assert.Equal(cancel.Token, error.CancellationToken);

            cancel.Dispose();
            cancel = new CancellationTokenSource();
            cancelInHelper = false;
            var token = cancel.Token;
            var run = Task.Run(() => entry.Run(new byte[4], token));
            Assert.True(looping.Wait(TimeSpan.FromMinutes(1)));
            cancel.Cancel();
            var inLoop = Assert.Throws<EbpfRunCancelledException>(() => run.GetAwaiter().GetResult());

            // Cancelled as the helper returns (pc 1) or in the loop (pc 2): either way at the target's instruction.
            Assert.InRange(inLoop.Pc, 1, 2);
            Assert.Equal(target.Program.Instructions[inLoop.Pc], inLoop.Instruction);
            Assert.Equal(token, inLoop.CancellationToken);
            Assert.Equal(2UL, Count(counter));
            cancel.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_compiled_for_another_context_is_not_entered_and_the_caller_continues(string engine)
    {
        // A target compiled for a host-built context relies on that context: a program run on raw memory must not enter
        // it (HelperContext.TailCall refuses, as for an empty slot), so the caller goes on and returns 7, not 1000.
        var (environment, counter, programs) = Setup();
        var layout = new Ebpf.Analysis.ContextLayout("test_ctx", 8, []);
        using (counter)
        using (programs)
        using (var entry = TestEngines.Get(engine).Compile(Counting(3), environment))
        using (var target = TestEngines.Get(engine).Compile(
            Program(I(OpCodes.Mov64Imm, 0, 0, 0, 1000), I(OpCodes.Exit)), environment, ExecutionOptions.Default with { EntryContext = layout }))
        {
            programs.Set(3, target);
            Assert.Equal(7UL, entry.Run(new byte[8]));
            Assert.Equal(1UL, Count(counter));
        }
    }

    /// <summary>An <see cref="ICompiledProgram"/> that is not one of this library's: it delegates to a real one.</summary>
    private sealed class ForeignProgram(ICompiledProgram inner) : ICompiledProgram
    {
        public string EngineName => "foreign";

        public EbpfProgram Program => inner.Program;

        public ProgramEnvironment Environment => inner.Environment;

        public ExecutionOptions Options => inner.Options;

        public ulong Run() => inner.Run();

        public ulong Run(Span<byte> memory) => inner.Run(memory);

        public ulong Run(Span<byte> memory, Span<byte> metadata) => inner.Run(memory, metadata);

        public ulong Run(Span<byte> memory, CancellationToken cancellationToken) => inner.Run(memory, cancellationToken);

        public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellationToken) => inner.Run(memory, metadata, cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
