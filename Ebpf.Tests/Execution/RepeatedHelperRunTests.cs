using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Execution;

/// <summary>
/// Repeated runs (<see cref="CompiledProgram.RunRepeatedWithContext"/>) of programs whose helpers change the run state's
/// per-run fields: a helper that stops the run, one that requests a tail call through its context. Each run must end
/// as a single run ends (the stop request and the tail-call count put back, the requested tail call carried out), so
/// that the next run starts afresh. On x64 these programs run in the engine's own loop with one run block for all the
/// runs (its helper loop calls the helpers; see <c>X64CompiledProgram.RepeatLeased</c>), on the other engines in the
/// common run.
/// </summary>
public sealed class RepeatedHelperRunTests
{
    private static readonly ExecutionOptions Options = new() { Verification = VerificationMode.Structural };

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_a_helper_stopped_ends_there_and_the_next_runs_run_to_their_end(string engine)
    {
        // Helper 1001 stops the run with 77 at its second call; every run that goes on counts itself in context[0] and
        // returns 5. Of four runs, the second stops before counting (by hand: 3 counted, the last r0 is 5).
        int calls = 0;
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1001, "stop_second", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            if (++calls == 2)
            {
                context.Stop(77);
            }

            return 0;
        });
        using var program = Compile(engine, """
            mov r6, r1
            call 1001
            ldxb r3, [r6]
            add r3, 1
            stxb [r6], r3
            mov r0, 5
            exit
            """, environment);
        var context = new byte[8];
        Assert.Equal(5UL, program.RunRepeatedWithContext(new byte[8], context, 4, default));
        Assert.Equal(4, calls);
        Assert.Equal(3, context[0]);

        // A last run that is stopped returns the stop's value.
        calls = 1;
        Assert.Equal(77UL, program.RunRepeatedWithContext(new byte[8], context, 1, default));
        Assert.Equal(3, context[0]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_a_helper_requested_is_carried_out_at_the_end_of_each_run(string engine)
    {
        // The caller counts its runs in context[0] and asks helper 1002 for a tail call into the target, which counts its
        // runs in context[1] and returns 42; the helper asks only in even runs. 100 runs: 50 tail calls, more than the
        // 33 one run may make, so each run must start with its count at 0 (the tail call then happens every time).
        var environment = new ProgramEnvironment();
        using var target = Compile(engine, """
            ldxb r3, [r1+1]
            add r3, 1
            stxb [r1+1], r3
            mov r0, 42
            exit
            """, environment);
        ICompiledProgram? into = target;
        environment.Helpers.Add(1002, "tail_call_even", (HelperContext context, ulong r1, ulong _, ulong _, ulong _, ulong _) =>
            context.GetMemory(r1, 1, MemoryAccessKind.Read)[0] % 2 == 0 && context.TailCall(into!) ? 0UL : 1UL);
        using var caller = Compile(engine, """
            ldxb r3, [r1]
            add r3, 1
            stxb [r1], r3
            call 1002
            mov r0, 9
            exit
            """, environment);
        var context = new byte[8];
        Assert.Equal(42UL, caller.RunRepeatedWithContext(new byte[8], context, 100, default));
        Assert.Equal(100, context[0]);
        Assert.Equal(50, context[1]);
        Assert.Equal(9UL, caller.RunRepeatedWithContext(new byte[8], context, 1, default));
        Assert.Equal(101, context[0]);
        Assert.Equal(50, context[1]);
    }

    private static CompiledProgram Compile(string engine, string source, ProgramEnvironment environment) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), environment, Options);
}
