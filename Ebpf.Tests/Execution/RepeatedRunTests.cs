using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Execution;

/// <summary>
/// Repeated runs on one input (<see cref="CompiledProgram.RunRepeatedWithContext"/>, the loop of a kernel test run's
/// repeat): each run is a run of its own as the single run path makes it: it sees what the runs before left in the
/// context, a failing run ends the loop, and the host's changes between runs (a removed region, a disposal, a
/// cancelled token) reach the next run. Each case once for a brief program (the engine's own loop, see
/// <c>ExecuteInCodeRepeatedly</c>), once for the same program with a helper call in front (the common run, once per
/// run; on x64 its own loop with a lease per run, the helper called from its helper loop) and once with an array map
/// lookup in front (which x64 makes in line, so that its code never leaves: x64's own loop with a lease per run; the
/// common run on the other engines), on every engine.
/// </summary>
public sealed unsafe class RepeatedRunTests
{
    // Programs that read memory the host names by address: structural verification, as for the other run-path tests.
    private static readonly ExecutionOptions Options = new() { Verification = VerificationMode.Structural };

    private const string Brief = "brief";
    private const string Helper = "helper";
    private const string Inline = "inline";

    /// <summary>What goes in front of a case's program, by shape: nothing (<see cref="Brief"/>), a helper call that
    /// changes nothing (r0 = r1, <see cref="Helper"/>), or <c>bpf_map_lookup_elem</c> of key 0 in array map 0
    /// (<see cref="Inline"/>); r1 is kept in r6 across either call.</summary>
    private static string Prefix(string shape) => shape switch
    {
        Helper => "mov r6, r1\ncall 1000\nmov r1, r6\n",
        Inline => "mov r6, r1\nstw [r10-4], 0\nmov r2, r10\nadd r2, -4\nlddw r1, map_by_idx 0\ncall 1\nmov r1, r6\n",
        _ => "",
    };

    /// <summary>The instructions of <see cref="Prefix"/> (counted by hand; <c>lddw</c> is one instruction of two slots).</summary>
    private static long PrefixInstructions(string shape) => shape switch
    {
        Helper => 3,
        Inline => 7,
        _ => 0,
    };

    public static TheoryData<string, string> EnginesAndShapes()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, Brief);
            data.Add(engine.Name, Helper);
            data.Add(engine.Name, Inline);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void Each_run_sees_what_the_runs_before_left_and_a_failing_run_ends_the_loop(string engine, string shape)
    {
        // Counts its runs in the context's first byte and faults (a load from address 0) in the fifth: of 100 runs asked
        // for, five start (by hand: the count is 5 after the fault) and the loop ends with the fifth's error.
        using var program = Compile(engine, Prefix(shape) + """
            ldxb r3, [r1]
            add r3, 1
            stxb [r1], r3
            jeq r3, 5, fault
            mov r0, r3
            exit
            fault:
            mov r2, 0
            ldxdw r0, [r2]
            exit
            """, Environment());
        Assert.Equal(shape == Brief, BriefCode.IsBrief(program.Program));
        var context = new byte[16];
        var memory = new byte[16];

        Assert.Equal(3UL, program.RunRepeatedWithContext(memory, context, 3, default));
        Assert.Equal(3, context[0]);
        var error = Assert.Throws<EbpfMemoryAccessException>(() => program.RunRepeatedWithContext(memory, context, 100, default));
        Assert.Equal(5, context[0]);
        Assert.Equal(0UL, error.Address);

        // The failed run ended its watch and lease: the thread's next runs start (the sixth and seventh).
        Assert.Equal(7UL, program.RunRepeatedWithContext(memory, context, 2, default));
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void Each_run_starts_with_the_whole_instruction_budget(string engine, string shape)
    {
        // Five instructions and the prefix's: a budget of exactly that lets every one of 1,000 runs finish, and one less
        // stops the first run.
        string source = Prefix(shape) + "mov r0, 1\nadd r0, 2\nmov r3, r0\nadd r0, r3\nexit";
        long length = 5 + PrefixInstructions(shape);
        using var enough = Compile(engine, source, Environment(), Options with { InstructionBudget = length });
        Assert.Equal(6UL, enough.RunRepeatedWithContext(new byte[8], new byte[8], 1_000, default));
        using var short1 = Compile(engine, source, Environment(), Options with { InstructionBudget = length - 1 });
        Assert.Throws<EbpfBudgetExceededException>(() => short1.RunRepeatedWithContext(new byte[8], new byte[8], 1_000, default));
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void A_region_removed_during_repeated_runs_is_not_used_by_the_runs_after(string engine, string shape)
    {
        var target = GC.AllocateArray<byte>(16, pinned: true);
        target[3] = 0x2a;
        ulong address = (ulong)Unsafe.AsPointer(ref target[0]);
        var environment = Environment();
        var region = new MemoryRegion(address, 16, MemoryRegionKind.Allowed, writable: false);
        environment.AddRegion(region);
        using var program = Compile(engine, Prefix(shape) + $"lddw r2, {address}\nldxb r0, [r2+3]\nexit", environment);
        Assert.Equal(shape == Brief, BriefCode.IsBrief(program.Program));
        Assert.Equal(0x2aUL, program.RunRepeatedWithContext(new byte[8], new byte[8], 10, default));

        // Runs until the region goes (the token ends the loop after 20 s if the runs kept reading it).
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var removed = new ManualResetEventSlim();
        var remover = After(50, () =>
        {
            environment.RemoveRegion(region);
            removed.Set();
        });
        var error = Assert.Throws<EbpfMemoryAccessException>(() => program.RunRepeatedWithContext(new byte[8], new byte[8], int.MaxValue, giveUp.Token));
        Assert.True(removed.IsSet);
        Assert.Equal(address + 3, error.Address);
        remover.Join();
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void A_program_disposed_during_repeated_runs_runs_no_more(string engine, string shape)
    {
        var program = Compile(engine, Prefix(shape) + "mov r0, 7\nexit", Environment());
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var disposer = After(50, program.Dispose);
        Assert.Throws<ObjectDisposedException>(() => program.RunRepeatedWithContext(new byte[8], new byte[8], int.MaxValue, giveUp.Token));
        disposer.Join();
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void Repeated_runs_stop_between_two_runs_once_the_token_is_cancelled(string engine, string shape)
    {
        using var program = Compile(engine, Prefix(shape) + "ldxb r3, [r1]\nadd r3, 1\nstxb [r1], r3\nmov r0, 1\nexit", Environment());
        var context = new byte[8];
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var error = Assert.Throws<EbpfRunCancelledException>(() => program.RunRepeatedWithContext(new byte[8], context, int.MaxValue, cancel.Token));
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal(0, error.Pc);

        // A token cancelled before the loop: no run starts.
        context[0] = 0;
        Assert.Throws<EbpfRunCancelledException>(() => program.RunRepeatedWithContext(new byte[8], context, 10, cancel.Token));
        Assert.Equal(0, context[0]);
    }

    [Theory]
    [MemberData(nameof(EnginesAndShapes))]
    public void Repeated_runs_leave_zeros_where_they_wrote_the_stack_however_the_last_ends(string engine, string shape)
    {
        // Writes 0x5E in the 8 bytes at r10-16, then faults when the context's first byte is 1; a program run afterwards
        // on the thread's stack reads those bytes as zero.
        var environment = Environment();
        using var writer = Compile(engine, Prefix(shape) + """
            lddw r3, 0x5e5e5e5e5e5e5e5e
            stxdw [r10-16], r3
            ldxb r4, [r1]
            jeq r4, 1, fault
            mov r0, 0
            exit
            fault:
            mov r2, 0
            ldxdw r0, [r2]
            exit
            """, environment);
        using var reader = Compile(engine, "ldxdw r0, [r10-16]\nexit", environment);
        Assert.Equal(0UL, writer.RunRepeatedWithContext(new byte[8], new byte[8], 3, default));
        Assert.Equal(0UL, reader.Run(new byte[8]));
        Assert.Throws<EbpfMemoryAccessException>(() => writer.RunRepeatedWithContext(new byte[8], [1, 0, 0, 0, 0, 0, 0, 0], 3, default));
        Assert.Equal(0UL, reader.Run(new byte[8]));
    }

    [Fact]
    public void The_stack_clear_zeroes_exactly_the_top_bytes_it_is_given()
    {
        // Every size up to past the in-line stores' limit: the given top bytes become zero, every byte below stays.
        var area = GC.AllocateArray<byte>(256, pinned: true);
        byte* end = (byte*)Unsafe.AsPointer(ref area[0]) + area.Length;
        for (int bytes = 0; bytes <= RunStack.SmallClear + 72; bytes++)
        {
            area.AsSpan().Fill(0xA5);
            RunStack.Clear(end, bytes);
            Assert.True(area.AsSpan(area.Length - bytes).IndexOfAnyExcept((byte)0) < 0, $"{bytes} bytes: a byte of the top is not zero");
            Assert.True(area.AsSpan(0, area.Length - bytes).IndexOfAnyExcept((byte)0xA5) < 0, $"{bytes} bytes: a byte below the top changed");
        }
    }

    /// <summary>Starts a thread that does <paramref name="action"/> after <paramref name="milliseconds"/>.</summary>
    private static Thread After(int milliseconds, Action action)
    {
        var thread = new Thread(() =>
        {
            Thread.Sleep(milliseconds);
            action();
        });
        thread.Start();
        return thread;
    }

    /// <summary>Helper 1000 (r0 = r1), the Linux helpers and array map 0 (one 8-byte value) for the prefixes.</summary>
    private static ProgramEnvironment Environment()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.Helpers.Add(1000, "same", (ulong a, ulong _, ulong _, ulong _, ulong _) => a);
        environment.AddMap(new ArrayMap(new MapDefinition("values", BpfMapType.Array, 4, 8, 1)));
        return environment;
    }

    private static CompiledProgram Compile(string engine, string source, ProgramEnvironment environment, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), environment, options ?? Options);
}
