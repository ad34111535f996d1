using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Helpers;

/// <summary>
/// bpf_loop (181) and bpf_for_each_map_elem (164): the program passes one of its functions (<c>lddw rX, code_addr f</c>,
/// src=4) and the helper calls it back, on every engine. Expected values are worked out from the kernel's definitions.
/// </summary>
public class CallbackHelperTests
{
    private static ProgramEnvironment Linux() => LinuxHelpers.Register(new ProgramEnvironment());

    /// <summary>For programs that reach a run-time error the default (hybrid) verification refuses at compile time.</summary>
    private static readonly ExecutionOptions StructuralOnly = new() { Verification = VerificationMode.Structural };

    private static ulong Run(string engine, string source, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        using var compiled = TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(source)), environment ?? Linux(), options);
        return compiled.Run(new byte[16]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Bpf_loop_calls_the_callback_with_each_index_and_returns_the_count(string engine)
    {
        // 0 + 1 + ... + 9 = 45, 10 iterations.
        Assert.Equal(4510UL, Run(engine, CallbackPrograms.SumLoop("10")));
        Assert.Equal(0UL, Run(engine, CallbackPrograms.SumLoop("0")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Bpf_loop_refuses_too_many_loops_and_flags_without_calling(string engine)
    {
        // 1 << 23 loops are allowed; one more is -E2BIG (set as 32 bits, as by the kernel's inlined bpf_loop); any flag is
        // -EINVAL (checked first); the counter stays 0.
        Assert.Equal(0xfffffff9UL, Run(engine, CallbackPrograms.SumLoop("0x800001")));
        Assert.Equal(unchecked((ulong)-22L), Run(engine, CallbackPrograms.SumLoop("0x800001", flags: "1")));
        Assert.Equal(unchecked((ulong)-22L), Run(engine, CallbackPrograms.SumLoop("3", flags: "2")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Bpf_loop_runs_the_largest_count_on_the_budget(string engine)
    {
        // 8,388,608 callbacks of 5 instructions each: sum 0..n-1 = n(n-1)/2.
        const ulong n = 1 << 23;
        Assert.Equal((n * (n - 1) / 2 * 100) + n, Run(engine, CallbackPrograms.SumLoop("0x800000")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_nonzero_return_ends_the_loop_after_that_call(string engine)
    {
        const string source = """
            mov r1, 100
            lddw r2, code_addr stop_at_3
            mov r3, 0
            mov r4, 0
            call 181
            exit
            stop_at_3:
            mov r0, 0
            jne r1, 3, +1
            mov r0, 1
            exit
            """;

        // Indexes 0, 1, 2, 3: the fourth call returns 1, so bpf_loop returns 4.
        Assert.Equal(4UL, Run(engine, source));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_callback_gets_a_frame_of_its_own_below_the_caller(string engine)
    {
        const string source = """
            mov r6, 77
            stxdw [r10-8], r6
            mov r7, 5
            mov r1, 2
            lddw r2, code_addr scribble
            mov r3, r10
            mov r4, 0
            call 181
            ldxdw r0, [r10-8]
            add r0, r7
            exit
            scribble:
            mov r3, 1000
            stxdw [r10-8], r3
            mov r4, r10
            sub r2, r4
            mov r0, 0
            jeq r2, 512, +1
            mov r0, 1
            mov r6, 99
            mov r7, 99
            exit
            """;

        // The callback's r10 is the caller's r10 - 512 (its ctx is the caller's r10), its store stays in its own frame,
        // and the caller's r6/r7 survive: 77 + 5.
        Assert.Equal(82UL, Run(engine, source));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Nested_loops_multiply(string engine)
    {
        const string source = """
            mov r6, 0
            stxdw [r10-8], r6
            mov r1, 3
            lddw r2, code_addr outer
            mov r3, r10
            add r3, -8
            mov r4, 0
            call 181
            ldxdw r0, [r10-8]
            exit
            outer:
            mov r1, 4
            mov r3, r2
            lddw r2, code_addr inner
            mov r4, 0
            call 181
            mov r0, 0
            exit
            inner:
            ldxdw r3, [r2]
            add r3, 1
            stxdw [r2], r3
            mov r0, 0
            exit
            """;

        Assert.Equal(12UL, Run(engine, source));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_callback_that_loops_forever_is_stopped_by_the_budget_and_by_the_timeout(string engine)
    {
        const string source = """
            mov r1, 1
            lddw r2, code_addr spin
            mov r3, 0
            mov r4, 0
            call 181
            exit
            spin:
            add r0, 1
            ja -2
            """;

        // 5 instructions up to the call, then add (pc 7) and ja (pc 8) in turn: instruction 100,001 is a ja.
        var budget = Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, source, options: new ExecutionOptions { InstructionBudget = 100_000, Verification = VerificationMode.Structural }));
        Assert.Equal(8, budget.Pc);
        var timeout = Assert.Throws<EbpfRunCancelledException>(() => Run(engine, source, options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(50), Verification = VerificationMode.Structural }));
        Assert.InRange(timeout.Pc, 7, 8);
        Assert.NotNull(timeout.Timeout);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_long_loop_of_short_callbacks_stops_at_the_timeout(string engine)
    {
        // 2^46 callbacks without a backward jump (a loaded machine once finished 2^23 before a 20 ms timer fired): the
        // run stops between two of them (at a call, pc 5 or 12) or, in the interpreter, at a slice boundary in one.
        var error = Assert.Throws<EbpfRunCancelledException>(() => Run(engine, CallbackPrograms.NestedEndless, options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(20) }));
        Assert.True(error.Pc == 5 || error.Pc is >= 7 and <= 16, $"stopped at pc {error.Pc}");
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_long_loop_of_short_callbacks_stops_at_the_run_time_limit(string engine)
    {
        // As above, stopped by the watchdog of ExecutionOptions.RunTimeLimit between two callbacks (or at a slice).
        var limit = TimeSpan.FromMilliseconds(20);
        var error = Assert.Throws<EbpfRunCancelledException>(() => Run(engine, CallbackPrograms.NestedEndless, options: new ExecutionOptions { RunTimeLimit = limit }));
        Assert.True(error.RunTimeLimitExceeded);
        Assert.Equal(limit, error.Timeout);
        Assert.True(error.Pc == 5 || error.Pc is >= 7 and <= 16, $"stopped at pc {error.Pc}");
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_budget_counts_the_callbacks_instructions(string engine)
    {
        // The entry runs 13 instructions around the call (the exit included), each of the 10 callbacks 5: 63 in all.
        Assert.Equal(4510UL, Run(engine, CallbackPrograms.SumLoop("10"), options: new ExecutionOptions { InstructionBudget = 63 }));
        Assert.Throws<EbpfBudgetExceededException>(() => Run(engine, CallbackPrograms.SumLoop("10"), options: new ExecutionOptions { InstructionBudget = 62 }));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_fault_in_the_callback_is_reported_at_the_callbacks_pc(string engine)
    {
        const string source = """
            mov r1, 3
            lddw r2, code_addr bad
            mov r3, 0
            mov r4, 0
            call 181
            exit
            bad:
            mov r0, 0
            ldxdw r0, [r2+16]
            exit
            """;

        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, source));
        Assert.Equal(8, error.Pc);
        Assert.Equal(16UL, error.Address);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Recursive_callbacks_stop_at_the_call_depth(string engine)
    {

        // Frames: the entry and 7 callbacks (MaxCallDepth 8); the 7th callback's bpf_loop at pc 12 cannot add an 8th.
        var error = Assert.Throws<EbpfCallDepthExceededException>(() => Run(engine, CallbackPrograms.Recursive));
        Assert.Equal(12, error.Pc);
        var shallow = Assert.Throws<EbpfCallDepthExceededException>(() => Run(engine, CallbackPrograms.Recursive, options: new ExecutionOptions { MaxCallDepth = 1 }));
        Assert.Equal(5, shallow.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_forged_function_pointer_is_a_helper_error(string engine)
    {
        const string source = """
            mov r1, 1
            lddw r2, code_addr f
            add r2, 1
            mov r3, 0
            mov r4, 0
            call 181
            exit
            f:
            mov r0, 0
            exit
            """;

        var error = Assert.Throws<EbpfHelperException>(() => Run(engine, source, options: StructuralOnly));
        Assert.Equal(6, error.Pc);
        Assert.Contains("is not the address of a callback of this program", error.InnerException!.Message);
    }

    [Fact]
    public void A_function_address_must_name_an_instruction()
    {
        // lddw r2, code_addr +0 names its own second slot.
        var error = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(Assembler.Assemble("lddw r2, code_addr 0\nmov r0, 0\nexit")));
        Assert.Contains("function address target 1 is the second slot of an lddw", error.Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void For_each_visits_every_array_element_with_its_key_and_value(string engine)
    {
        var environment = Linux();
        using var array = new ArrayMap("values", 8, 4);
        environment.AddMap(array);
        for (uint i = 0; i < 4; i++)
        {
            array.Update(i, (ulong)(i + 1) * 10);
        }

        // Adds key * 1000 + value for each element into ctx: (0+10) + (1000+20) + (2000+30) + (3000+40) = 6100; 4 visited.
        Assert.Equal((6100UL * 100) + 4, Run(engine, ForEach(stopAtKey: 99), environment));

        // Stopping at key 1 visits 2 elements: 10 + 1020.
        Assert.Equal((1030UL * 100) + 2, Run(engine, ForEach(stopAtKey: 1), environment));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void For_each_visits_the_entries_of_a_hash_map_and_its_values_are_writable(string engine)
    {
        var environment = Linux();
        using var hash = new HashMap("h", 4, 8, 16);
        environment.AddMap(hash);
        hash.Update(7u, 1UL);
        hash.Update(3u, 2UL);
        hash.Update(11u, 3UL);
        hash.Delete(3u);

        // 7001 + 11003 over 2 entries, and each value gets 100 added.
        Assert.Equal((18004UL * 100) + 2, Run(engine, ForEach(stopAtKey: 99, addToValue: 100), environment));
        Assert.Equal(101UL, hash.TryLookup(7u, out ulong seven) ? seven : 0);
        Assert.Equal(103UL, hash.TryLookup(11u, out ulong eleven) ? eleven : 0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_key_a_callback_gets_is_read_only(string engine)
    {
        var environment = Linux();
        using var array = new ArrayMap("values", 8, 1);
        environment.AddMap(array);
        const string source = """
            lddw r1, map_by_idx 0
            lddw r2, code_addr overwrite_key
            mov r3, 0
            mov r4, 0
            call 164
            exit
            overwrite_key:
            stw [r2], 5
            mov r0, 0
            exit
            """;

        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, source, environment, StructuralOnly));
        Assert.Equal(8, error.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void For_each_refuses_flags_and_maps_it_cannot_iterate(string engine)
    {
        var environment = Linux();
        using var array = new ArrayMap("values", 8, 4);
        using var queue = BpfMap.Create(new MapDefinition("queue", BpfMapType.Queue, 0, 8, 4));
        environment.AddMap(array);
        environment.AddMap(queue);
        Assert.Equal(unchecked((ulong)-22L), Run(engine, ForEach(stopAtKey: 99, flags: 1), environment));
        var error = Assert.Throws<EbpfHelperException>(() => Run(engine, ForEach(stopAtKey: 99, map: 1), environment, StructuralOnly));
        Assert.Contains("cannot be iterated", error.InnerException!.Message);
    }

    /// <summary>
    /// Runs bpf_for_each_map_elem over map <paramref name="map"/> (u32 keys, u64 values) with ctx = a counter at r10 - 8;
    /// the callback adds key * 1000 + value to it, adds <paramref name="addToValue"/> to the value, and stops after the
    /// key <paramref name="stopAtKey"/>. Returns counter * 100 + the helper's result.
    /// </summary>
    private static string ForEach(int stopAtKey, int addToValue = 0, int flags = 0, int map = 0) => $"""
        mov r6, 0
        stxdw [r10-8], r6
        lddw r1, map_by_idx {map}
        lddw r2, code_addr visit
        mov r3, r10
        add r3, -8
        mov r4, {flags}
        call 164
        mov r6, r0
        ldxdw r0, [r10-8]
        mul r0, 100
        add r0, r6
        exit
        visit:
        ldxw r6, [r2]
        ldxdw r7, [r3]
        mov r5, r7
        add r5, {addToValue}
        stxdw [r3], r5
        mov r8, r6
        mul r8, 1000
        add r8, r7
        ldxdw r9, [r4]
        add r9, r8
        stxdw [r4], r9
        mov r0, 0
        jne r6, {stopAtKey}, +1
        mov r0, 1
        exit
        """;
}
