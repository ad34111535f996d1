using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// Runs of brief programs (<see cref="BriefCode"/>: straight-line code without calls), which a plain run on an engine
/// without run leases starts and ends without the watch word: they keep every guarantee the watch word gave the other
/// runs (a cancelled token refuses them, the stack is cleared however they end, a run nested in a helper never shares
/// the outer run's stack area, the run-time limit still stops a looping program on the same thread).
/// </summary>
public class BriefRunTests
{
    private const ulong Secret = 0x5EC2E75EC2E75EC2;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Marks the input's first byte, then returns 7.</summary>
    private const string MarkInput = """
        stb [r1+0], 1
        mov r0, 7
        exit
        """;

    /// <summary>Writes the secret into the top two words of its frame, then reads past the 16-byte input (a fault).</summary>
    private static readonly string WriteThenFault = $"""
        lddw r3, {Secret}
        stxdw [r10-8], r3
        stxdw [r10-16], r3
        ldxb r0, [r1+100]
        exit
        """;

    /// <summary>Writes 5 into the top word of its frame and returns 0.</summary>
    private const string WriteTop = """
        stdw [r10-8], 5
        mov r0, 0
        exit
        """;

    /// <summary>Returns the OR of the top two words of its frame: nonzero when a byte was left there.</summary>
    private const string ReadTop = """
        ldxdw r0, [r10-8]
        ldxdw r1, [r10-16]
        or r0, r1
        exit
        """;

    /// <summary>
    /// Writes the secret into the top word of its frame, calls helper 20 (which runs other programs), and returns the
    /// helper's r0 when the word is still there, 99 otherwise.
    /// </summary>
    internal static readonly string KeepsItsFrameAroundHelper20 = $"""
        lddw r6, {Secret}
        stxdw [r10-8], r6
        call 20
        ldxdw r1, [r10-8]
        jeq r1, r6, +1
        mov r0, 99
        exit
        """;

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    private static ICompiledProgram Compile(string engine, string source, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        var program = Parse(source);
        // Structural verification: the readers read stack bytes they never wrote (zeros, which is the point), an
        // uninitialised read the default (hybrid) verification refuses at compile time.
        return TestEngines.Get(engine).Compile(program, environment ?? new ProgramEnvironment(), (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });
    }

    [Fact]
    public void Brief_code_is_straight_line_code_without_calls_up_to_the_slot_limit()
    {
        Assert.True(BriefCode.IsBrief(Parse(MarkInput)));
        Assert.True(BriefCode.IsBrief(Parse(WriteThenFault)));
        Assert.True(BriefCode.IsBrief(Parse("jeq r1, 0, +1\nmov r0, 1\nexit")));
        Assert.False(BriefCode.IsBrief(Parse("mov r0, 0\nadd r0, 1\njne r0, 10, -2\nexit")));
        Assert.False(BriefCode.IsBrief(Parse("call 1\nexit")));
        Assert.False(BriefCode.IsBrief(Parse("call local f\nexit\nf:\nmov r0, 1\nexit")));
        var longest = string.Concat(Enumerable.Repeat("add r0, 1\n", BriefCode.MaxSlots - 1)) + "exit";
        Assert.True(BriefCode.IsBrief(Parse(longest)));
        Assert.False(BriefCode.IsBrief(Parse("add r0, 1\n" + longest)));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_brief_program_refuses_to_start_when_its_token_is_already_cancelled(string engine)
    {
        using var compiled = Compile(engine, MarkInput);
        var input = new byte[16];

        // On the interpreter, il and x64 the plain runs below take the direct entry (see DirectEntryTests).
        Assert.Equal(engine is "interpreter" or "il" or "x64", ((CompiledProgram)compiled).HasDirectEntry);
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(input, new CancellationToken(canceled: true)));
        Assert.Equal(RuntimeErrorKind.Cancelled, e.Kind);
        Assert.Equal(0, e.Pc);
        Assert.True(e.CancellationToken.IsCancellationRequested);
        Assert.Equal(0, input[0]);

        using var live = new CancellationTokenSource();
        Assert.Equal(7UL, compiled.Run(input, live.Token));
        Assert.Equal(1, input[0]);
        input[0] = 0;
        Assert.Equal(7UL, compiled.Run(input));
        Assert.Equal(1, input[0]);

        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run(input, new CancellationToken(canceled: true)));
        Assert.Throws<ObjectDisposedException>(() => compiled.Run(input));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_brief_run_that_fails_leaves_no_stack_byte_for_the_next_run(string engine)
    {
        using var writer = Compile(engine, WriteThenFault);
        using var reader = Compile(engine, ReadTop);
        var input = new byte[16];
        using var marker = Compile(engine, MarkInput);
        for (int round = 0; round < 3; round++)
        {
            Assert.Throws<EbpfMemoryAccessException>(() => writer.Run(input));
            Assert.Equal(0UL, reader.Run(input));

            // A brief program that writes no stack byte runs without a handler: its failure leaves the thread's state usable.
            Assert.Throws<EbpfMemoryAccessException>(() => marker.Run(Span<byte>.Empty));
            Assert.Equal(7UL, marker.Run(input));
            Assert.Equal(0UL, reader.Run(input));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Brief_runs_nested_in_a_helper_use_a_stack_of_their_own(string engine)
    {
        var environment = new ProgramEnvironment();
        using var writer = Compile(engine, WriteTop, environment);
        using var reader = Compile(engine, ReadTop, environment);
        var input = new byte[16];
        environment.Helpers.Add(20, "run_brief", (ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            ulong written = writer.Run(input);
            return written | reader.Run(input);
        });

        // The outer run holds the thread's stack area: its word must survive the nested runs, which must read zeros.
        using var outer = Compile(engine, KeepsItsFrameAroundHelper20, environment);

        Assert.Equal(0UL, outer.Run(input));
        Assert.Equal(0UL, reader.Run(input));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task The_run_time_limit_still_stops_a_loop_on_a_thread_that_ran_brief_programs(string engine)
    {
        var options = new ExecutionOptions { RunTimeLimit = TimeSpan.FromMilliseconds(200) };
        using var brief = Compile(engine, MarkInput, options: options);
        Assert.Equal(engine is "interpreter" or "il" or "x64", ((CompiledProgram)brief).HasDirectEntry);
        // mov r0, 0; mov r1, 1; loop: add r0, 1; jne r1, 0, loop
        using var loop = Compile(engine, "mov r0, 0\nmov r1, 1\nadd r0, 1\njne r1, 0, -2\nexit", options: options);
        var input = new byte[16];

        var task = Task.Factory.StartNew(
            () =>
            {
                var stops = new List<EbpfRunCancelledException>();
                for (int round = 0; round < 2; round++)
                {
                    for (int i = 0; i < 1000; i++)
                    {
                        Assert.Equal(7UL, brief.Run(input));
                    }

                    stops.Add(Assert.Throws<EbpfRunCancelledException>(() => loop.Run(input)));
                }

                Assert.Equal(7UL, brief.Run(input));
                return stops;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var ended = await Task.WhenAny(task, Task.Delay(Patience));
        Assert.True(ended == task, "the loop was not stopped");
        foreach (var stop in await task)
        {
            Assert.Equal(RuntimeErrorKind.TimedOut, stop.Kind);
            Assert.True(stop.RunTimeLimitExceeded);
            Assert.Contains(stop.Pc, (int[])[2, 3]);
        }
    }
}
