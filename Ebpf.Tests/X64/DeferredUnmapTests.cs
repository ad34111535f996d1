using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Isa;
using Ebpf.Tests.Engines;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>Dispose while a thread is inside the machine code keeps the mapping until that run has left it.</summary>
[Collection(X64SerialCollection.Name)]
public class DeferredUnmapTests
{
    [Fact]
    public void The_code_stays_mapped_read_execute_until_the_last_run_ends()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "wait", (_, _, _, _, _) =>
        {
            entered.Set();
            return release.Wait(TimeSpan.FromSeconds(20)) ? 40UL : 0UL;
        });
        long before = X64Engine.LiveCodeMappings;
        var compiled = (X64CompiledProgram)new X64Engine().Compile(
            Program(I(OpCodes.Call, imm: 1), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Exit)), environment);
        nint code = compiled.CodeAddress;
        ulong result = 0;
        var runner = new Thread(() => result = compiled.Run());
        runner.Start();
        Assert.True(entered.Wait(TimeSpan.FromSeconds(20)));

        compiled.Dispose();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Equal("r-xp", X64Platform.PermissionsAt(code));

        release.Set();
        Assert.True(runner.Join(TimeSpan.FromSeconds(20)));
        Assert.Equal(42UL, result);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [Fact]
    public void A_plain_run_after_dispose_throws_releases_the_code_and_leaves_the_thread_free_for_the_next_run()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // Programs with a loop: not brief, so their plain runs lease through the thread's state and Dispose unmaps
        // (a brief program's mapping waits for its collection, see below).
        long before = X64Engine.LiveCodeMappings;
        var compiled = (X64CompiledProgram)new X64Engine().Compile(CountTo(3));
        using var other = new X64Engine().Compile(CountTo(4));
        Assert.False(BriefCode.IsBrief(compiled.Program));
        Assert.False(compiled.HasDirectEntry);

        // The thread's run state is prepared for the program (its lease is the state's program while a run is on it).
        Assert.Equal(3UL, compiled.Run());
        compiled.Dispose();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.True(ThreadStateFree());
        Assert.Equal(4UL, other.Run());
        Assert.Equal(4UL, other.Run());
    }

    /// <summary>
    /// A loop that counts r0 up to <paramref name="n"/> and returns it, storing r0 to the stack on every round: a loop
    /// that wrote no memory would get the restartable direct entry, whose mapping waits for its collection as a brief
    /// program's does (see <c>DirectEntry.QualifiesWithLoops</c>).
    /// </summary>
    internal static EbpfProgram CountTo(int n) =>
        EbpfProgram.Create(Assembler.Assemble($"mov r0, 0\nadd r0, 1\nstxdw [r10-8], r0\njlt r0, {n}, -3\nexit"), StructuralOnlyVerifier.Instance);

    [Fact]
    public void Nested_runs_deeper_than_the_thread_slots_keep_the_code_mapped_until_the_outermost_ends()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // Each level's helper runs the same program again; the innermost disposes it. The outermost run holds its lease
        // through the thread's run state, the next levels in the thread's slots, the deeper ones (past the slot depth) as
        // counted leases.
        const int Levels = 7;
        X64CompiledProgram? compiled = null;
        int level = 0;
        nint code = 0;
        long before = X64Engine.LiveCodeMappings;
        string? permissionsAtInnermost = null;
        long mappingsAtInnermost = 0;
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "nest", (_, _, _, _, _) =>
        {
            if (++level < Levels)
            {
                return compiled!.Run();
            }

            compiled!.Dispose();
            mappingsAtInnermost = X64Engine.LiveCodeMappings;
            permissionsAtInnermost = X64Platform.PermissionsAt(code);
            return 0;
        });
        compiled = (X64CompiledProgram)new X64Engine().Compile(
            Program(I(OpCodes.Call, imm: 1), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Exit)), environment);
        code = compiled.CodeAddress;

        Assert.Equal(2UL * Levels, compiled.Run());
        Assert.Equal(before + 1, mappingsAtInnermost);
        Assert.Equal("r-xp", permissionsAtInnermost);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
    }

    [Fact]
    public void Brief_runs_leave_the_thread_free_however_they_end_and_the_collected_program_is_unmapped()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // A brief program (straight-line, no calls) takes no lease: the thread's state must be free after a run that
        // returns, one that faults, and one that finds the program disposed; Dispose leaves the mapping to the garbage
        // collector, which unmaps it once the program cannot be reached.
        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        var dropped = RunBriefRoundsAndDispose();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        GarbageCollections.CollectUntilMappings(before);
        Assert.False(dropped.IsAlive);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        Assert.True(ThreadStateFree());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RunBriefRoundsAndDispose()
    {
        var program = EbpfProgram.Create(Assembler.Assemble("ldxb r0, [r1+0]\nadd r0, 5\nexit"), StructuralOnlyVerifier.Instance);
        Assert.True(BriefCode.IsBrief(program));
        var compiled = (X64CompiledProgram)new X64Engine().Compile(program);
        var input = new byte[] { 2 };
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(7UL, compiled.Run(input));
            Assert.True(ThreadStateFree());
            Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(Span<byte>.Empty));
            Assert.True(ThreadStateFree());
        }

        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run(input));
        Assert.True(ThreadStateFree());
        Assert.Equal("r-xp", X64Platform.PermissionsAt(compiled.CodeAddress));
        return new WeakReference(compiled);
    }

    [Fact]
    public async Task Threads_running_a_brief_program_while_it_is_disposed_finish_correctly_and_the_collected_program_is_unmapped()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // Brief code runs without the GC transition and without a lease: Dispose on another thread must not unmap the
        // code under a run (the process would crash), and the mapping must go once the program is collected. Two
        // programs: two loads (a run of a few nanoseconds) and 3,000 additions (a run of about a microsecond, so that
        // Dispose lands inside runs); collections forced meanwhile.
        var programs = new[]
        {
            (Program: EbpfProgram.Create(Assembler.Assemble("ldxdw r0, [r1+0]\nldxdw r2, [r1+8]\nadd r0, r2\nexit"), StructuralOnlyVerifier.Instance), Extra: 0UL),
            (Program: EbpfProgram.Create(Assembler.Assemble("ldxdw r0, [r1+0]\nldxdw r2, [r1+8]\nadd r0, r2\n" + string.Concat(Enumerable.Repeat("add r0, 1\n", 3000)) + "exit"), StructuralOnlyVerifier.Instance), Extra: 3000UL),
        };
        Assert.All(programs, p => Assert.True(BriefCode.IsBrief(p.Program)));
        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        using (var stop = new CancellationTokenSource())
        {
            var collections = GarbageCollections.ForceUntil(stop.Token);
            for (int round = 0; round < 40; round++)
            {
                var (program, extra) = programs[round % 2];
                RunWhileDisposed(program, extra);
            }

            await stop.CancelAsync();
            await collections;
        }

        GarbageCollections.CollectUntilMappings(before);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    /// <summary>
    /// True when this thread's stack area and run state are free for a run (a thread whose runs all took the direct
    /// entry has none yet: it is made here, free).
    /// </summary>
    private static bool ThreadStateFree() => RunStack.Take(512) is not null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunWhileDisposed(EbpfProgram program, ulong extra)
    {
        const int Threads = 3;
        var inputs = Enumerable.Range(0, Threads).Select(t =>
        {
            var input = new byte[16];
            BitConverter.TryWriteBytes(input.AsSpan(0, 8), 40UL + (ulong)t);
            BitConverter.TryWriteBytes(input.AsSpan(8, 8), 2UL);
            return input;
        }).ToArray();
        var compiled = new X64Engine().Compile(program);
        var outcomes = HostileHostTests.RunUntilDisposed(
            compiled,
            Threads,
            t => compiled.Run(inputs[t]) is var r0 && r0 == 42UL + (ulong)t + extra ? null : $"wrong result {r0}",
            () => ThreadStateFree() ? "disposed" : "thread state left busy");
        Assert.All(outcomes, o => Assert.Equal("disposed", o));
    }
}
