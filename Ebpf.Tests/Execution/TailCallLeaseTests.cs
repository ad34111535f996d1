using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Execution;

/// <summary>
/// The lease a tail call holds on its target (a slot of the thread, or a counted lease when the thread's slots are
/// taken) ends on every path: chains, nested runs deeper than the thread's slots, and runs that fail after asking for a
/// tail call. A disposed target is released once the last of them ends, on every engine.
/// </summary>
public class TailCallLeaseTests
{
    /// <summary>Returns 1000 + the first byte of its context.</summary>
    private const string FirstByte = """
        ldxb r0, [r1]
        add r0, 1000
        exit
        """;

    /// <summary>Calls helper 20 (which may run a nested run), then tail-calls through helper 12; 7 when that falls through.</summary>
    private const string NestThenTailCall = """
        mov r6, r1
        call 20
        mov r1, r6
        call 12
        mov r0, 7
        exit
        """;

    private static ICompiledProgram Compile(string engine, string source, ProgramEnvironment environment) =>
        TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), environment);

    private static bool Released(ICompiledProgram program) => ((CompiledProgram)program).IsReleased;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_calls_from_runs_nested_deeper_than_the_threads_slots_reach_their_targets_and_release_them(string engine)
    {
        var environment = new ProgramEnvironment();
        var target = Compile(engine, FirstByte, environment);
        ICompiledProgram? caller = null;
        var input = new byte[] { 5, 0, 0, 0 };
        int depth = 0, tailCalls = 0;
        environment.Helpers.Add(20, "nest", (ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            if (depth == 2 * RunSlots.Depth)
            {
                return 0;
            }

            depth++;
            ulong nested = caller!.Run(input);
            depth--;
            return nested;
        });
        environment.Helpers.Add(12, "tail_call", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            tailCalls++;
            return context.TailCall(target) ? 0UL : 1UL;
        });
        caller = Compile(engine, NestThenTailCall, environment);

        Assert.Equal(1005UL, caller.Run(input));
        Assert.Equal((2 * RunSlots.Depth) + 1, tailCalls);

        target.Dispose();
        caller.Dispose();
        Assert.True(Released(target));
        Assert.True(Released(caller));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_chain_of_33_tail_calls_leaves_no_lease_behind(string engine)
    {
        var environment = new ProgramEnvironment();
        ICompiledProgram? self = null;
        int calls = 0;
        environment.Helpers.Add(20, "nothing", (ulong _, ulong _, ulong _, ulong _, ulong _) => 0);
        environment.Helpers.Add(12, "tail_call", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            calls++;
            return context.TailCallCount < LinuxHelpers.MaxTailCalls && context.TailCall(self!) ? 0UL : 1UL;
        });
        self = Compile(engine, NestThenTailCall, environment);

        Assert.Equal(7UL, self.Run(new byte[4]));
        Assert.Equal(LinuxHelpers.MaxTailCalls + 1, calls);

        self.Dispose();
        Assert.True(Released(self));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_that_fails_after_asking_for_a_tail_call_ends_with_the_helpers_error_and_releases_the_target(string engine)
    {
        var environment = new ProgramEnvironment();
        var target = Compile(engine, FirstByte, environment);
        environment.Helpers.Add(20, "nothing", (ulong _, ulong _, ulong _, ulong _, ulong _) => 0);
        environment.Helpers.Add(12, "tail_call_then_fail", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            Assert.True(context.TailCall(target));
            throw new InvalidOperationException("failed after the tail call was requested");
        });
        using var caller = Compile(engine, NestThenTailCall, environment);

        var error = Assert.Throws<EbpfHelperException>(() => caller.Run(new byte[] { 5, 0, 0, 0 }));
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal(1005UL, target.Run(new byte[] { 5, 0, 0, 0 }));

        target.Dispose();
        Assert.True(Released(target));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_target_that_fails_after_asking_for_the_next_tail_call_releases_both(string engine)
    {
        var environment = new ProgramEnvironment();
        var last = Compile(engine, FirstByte, environment);
        ICompiledProgram? middle = null;
        environment.Helpers.Add(20, "nothing", (ulong _, ulong _, ulong _, ulong _, ulong _) => 0);
        environment.Helpers.Add(12, "tail_call_middle", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
            context.TailCall(middle!) ? 0UL : 1UL);
        bool fail = true;
        environment.Helpers.Add(13, "tail_call_last", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            bool requested = context.TailCall(last);
            return fail ? throw new InvalidOperationException($"failed after the tail call was requested ({requested})") : requested ? 0UL : 1UL;
        });
        middle = Compile(engine, "call 13\nmov r0, 3\nexit", environment);
        using var entry = Compile(engine, NestThenTailCall, environment);

        var error = Assert.Throws<EbpfHelperException>(() => entry.Run(new byte[] { 5, 0, 0, 0 }));
        Assert.Equal(13UL, error.HelperId);
        Assert.Contains("(True)", error.InnerException!.Message, StringComparison.Ordinal);
        fail = false;
        Assert.Equal(1005UL, entry.Run(new byte[] { 5, 0, 0, 0 }));

        middle.Dispose();
        last.Dispose();
        Assert.True(Released(middle));
        Assert.True(Released(last));
    }
}
