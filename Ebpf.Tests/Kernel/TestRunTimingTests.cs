using Ebpf.Assembly;
using Ebpf.Elf;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// How test runs repeat and are timed: the warm-up (the first of N runs untimed; a single run timed on a scratch copy
/// that changes nothing the caller sees), and a cancellation looked at between the runs of a bounded program.
/// </summary>
public sealed class TestRunTimingTests
{
    private static ElfRuntime Runtime(string name) => KernelOracleCase.Runtime(name);

    private static byte[] Packet(string name) => KernelOracleCase.Frame(name);

    /// <summary>xdp_parse's counter of TCP over IPv4 (class 1): packets, then bytes.</summary>
    private static (ulong Packets, ulong Bytes) Tcp4Count(ElfRuntime runtime)
    {
        var value = runtime.GetMap("stats").Lookup(BitConverter.GetBytes(1u))!;
        return (BitConverter.ToUInt64(value, 0), BitConverter.ToUInt64(value, 8));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_one_of_n_runs_counts_whether_its_time_is_taken_or_not(string engine)
    {
        foreach (bool warmUp in new[] { true, false })
        {
            using var runtime = Runtime("xdp_parse");
            using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
            var result = program.TestRun(Packet("tcp4_80"), new TestRunOptions { Repeat = 7, WarmUp = warmUp });
            Assert.Equal(2u, result.ReturnValue);
            Assert.True(result.DurationNanoseconds > 0);
            // The 68-byte frame, seven times: the untimed first runs are among them.
            Assert.Equal((7ul, 7ul * 68), Tcp4Count(runtime));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_scratch_copy_of_a_single_run_changes_nothing_the_caller_sees(string engine)
    {
        using var runtime = Runtime("xdp_events");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
        var packet = Packet("udp4_53");
        var cold = program.TestRun(packet, new TestRunOptions { WarmUp = false });
        var warm = program.TestRun(packet);
        var again = program.TestRun(packet);

        foreach (var result in new[] { warm, again })
        {
            Assert.Equal((cold.ReturnValue, cold.Redirect), (result.ReturnValue, result.Redirect));
            Assert.Equal(cold.Output, result.Output);
            Assert.Equal(cold.Context, result.Context);
        }

        // Two records per run (the event and 16 bytes after the IP header), three runs: the scratch copy's runs wrote
        // into a ring of their own.
        var kernel = KernelOracleCase.All["xdp_events xdp_events udp4_53"].Maps;
        Assert.Equal(kernel.Concat(kernel).Concat(kernel), MapSnapshot.Lines(runtime));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_repeated_run_of_a_bounded_program_stops_between_runs_when_cancelled(string engine)
    {
        using var runtime = Runtime("xdp_parse");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var error = Assert.Throws<EbpfRunCancelledException>(() => program.TestRun(Packet("tcp4_80"), new TestRunOptions { Repeat = 1_000 }, cancel.Token));
        Assert.Equal(RuntimeErrorKind.Cancelled, error.Kind);
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal((0ul, 0ul), Tcp4Count(runtime));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Repeated_runs_allocate_nothing_per_run(string engine)
    {
        // tc_skb calls skb helpers and writes a hash map (an update of an existing key allocates nothing either).
        using var runtime = Runtime("tc_skb");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "tc_skb");
        using var cancel = new CancellationTokenSource();
        var packet = Packet("udp4_53");
        program.TestRun(packet, new TestRunOptions { Repeat = 20 }, cancel.Token);

        long Allocated(int repeat)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            program.TestRun(packet, new TestRunOptions { Repeat = repeat, WarmUp = false }, cancel.Token);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        long few = Allocated(10);
        long many = Allocated(10_010);
        Assert.True(many - few < 10_000, $"{few} bytes for 10 runs, {many} for 10,010");
    }

    [Theory]
    [InlineData("xdp_pass", null, true)]
    [InlineData("xdp_parse", null, true)] // backward jumps to shared code, no cycle
    [InlineData("tc_skb", "tc_skb", true)]
    [InlineData("xdp_tail", "xdp_tail", false)] // a tail call: the target may loop
    public void Bounded_programs_are_those_without_loops_tail_calls_or_callbacks(string objectName, string? program, bool bounded)
    {
        using var runtime = Runtime(objectName);
        Assert.Equal(bounded, RunLength.IsBounded(runtime.GetProgram(program)));
    }

    [Theory]
    [InlineData("mov r0, 1\nexit", true)]
    [InlineData("ja +2\nmov r0, 1\nexit\nmov r0, 2\nja -4", true)]
    [InlineData("mov r0, 0\nadd r0, 1\njlt r0, 10, -2\nexit", false)]
    [InlineData("mov r0, 0\njeq r1, 0, +2\nadd r0, 1\nja -3\nexit", false)]
    public void A_cycle_in_the_control_flow_makes_a_program_unbounded(string text, bool bounded)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(text));
        Assert.Equal(bounded, RunLength.IsBounded(program));
    }
}
