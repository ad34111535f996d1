using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

/// <summary>
/// A host that disposes programs while other threads run them, changes or disposes maps under running programs (which
/// may hold pointers to map values) and empties tail-call targets mid-chain: no crash, no use-after-free, runs that
/// started finish with their normal result, and what a run sees is always something the host could have shown it
/// sequentially.
/// </summary>
public class HostileHostTests
{
    private const int BlockingHelper = 1;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>r6 = 5; call the blocking helper (returns 7); r0 += r6; then 100 loop iterations add 1 each: 112.</summary>
    private static EbpfProgram BlockThenLoop() => Program(
        I(OpCodes.Mov64Imm, 6, imm: 5),
        I(OpCodes.Call, imm: BlockingHelper),
        I(OpCodes.Add64Reg, 0, 6),
        I(OpCodes.Mov64Imm, 3, imm: 0),
        I(OpCodes.Add64Imm, 0, imm: 1),          // pc 4
        I(OpCodes.Add64Imm, 3, imm: 1),
        I(OpCodes.JltImm, 3, offset: -3, imm: 100),
        I(OpCodes.Exit));

    /// <summary>A helper that lets the test act while a run is inside the program's code.</summary>
    private sealed class Gate : IDisposable
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public ulong Wait()
        {
            Entered.Set();
            return Release.Wait(Patience) ? 7UL : throw new TimeoutException("the test never released the helper");
        }

        public void Dispose()
        {
            Entered.Dispose();
            Release.Dispose();
        }
    }

    private static ProgramEnvironment GatedEnvironment(Gate gate)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.Helpers.Add(BlockingHelper + 1000, "gate", (_, _, _, _, _) => gate.Wait());
        return environment;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Dispose_while_a_run_is_inside_the_program_lets_that_run_finish(string engine)
    {
        using var gate = new Gate();
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(BlockingHelper, "gate", (_, _, _, _, _) => gate.Wait());
        var compiled = TestEngines.Get(engine).Compile(BlockThenLoop(), environment);
        ulong result = 0;
        Exception? failure = null;
        var runner = new Thread(() =>
        {
            try
            {
                result = compiled.Run();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        runner.Start();
        Assert.True(gate.Entered.Wait(Patience), "the run never reached the helper");

        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        gate.Release.Set();
        Assert.True(runner.Join(Patience), "the run did not end");

        Assert.Null(failure);
        Assert.Equal(112UL, result); // the code after the helper ran: it was still there
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        compiled.Dispose(); // a second Dispose is harmless
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Threads_running_a_program_while_it_is_disposed_finish_correctly_or_see_ObjectDisposedException(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(BlockingHelper, "seven", (_, _, _, _, _) => 7);
        for (int round = 0; round < 20; round++)
        {
            var compiled = TestEngines.Get(engine).Compile(BlockThenLoop(), environment);
            var outcomes = RunUntilDisposed(compiled, 4, _ => compiled.Run() is var r0 && r0 == 112 ? null : $"wrong result {r0}");
            Assert.All(outcomes, o => Assert.Equal("disposed", o));
        }
    }

    /// <summary>
    /// Starts <paramref name="threads"/> threads that call <paramref name="runOnce"/> (with the thread's index; it returns
    /// null when the run was right, else what was wrong) until it fails, disposes <paramref name="compiled"/> once each has
    /// run it, and returns each thread's outcome: "disposed" for an <see cref="ObjectDisposedException"/> (or what
    /// <paramref name="afterDisposed"/>, called on the thread then, returns), else what went wrong.
    /// </summary>
    internal static List<string> RunUntilDisposed(ICompiledProgram compiled, int threads, Func<int, string?> runOnce, Func<string>? afterDisposed = null)
    {
        var outcomes = new List<string>();
        using var started = new CountdownEvent(threads);
        var workers = Enumerable.Range(0, threads).Select(index => new Thread(() =>
        {
            bool signalled = false;
            string outcome;
            while (true)
            {
                try
                {
                    if (runOnce(index) is { } wrong)
                    {
                        outcome = wrong;
                        break;
                    }
                }
                catch (ObjectDisposedException)
                {
                    outcome = afterDisposed?.Invoke() ?? "disposed";
                    break;
                }
                catch (Exception e)
                {
                    outcome = e.GetType().Name;
                    break;
                }

                if (!signalled)
                {
                    signalled = true;
                    started.Signal();
                }
            }

            if (!signalled)
            {
                started.Signal();
            }

            lock (outcomes)
            {
                outcomes.Add(outcome);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        Assert.True(started.Wait(Patience));
        compiled.Dispose();
        Assert.All(workers, w => Assert.True(w.Join(Patience)));
        return outcomes;
    }

    /// <summary>
    /// The chain entry → middle → last, where middle waits in the blocking helper before its tail call. While it waits
    /// the host disposes middle and last: middle's run finishes, and its tail call into the disposed last program ends
    /// the way the same call does when nothing is running (whatever that is, it is no crash).
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_chain_into_programs_disposed_mid_run_ends_as_it_does_sequentially(string engine)
    {
        using var gate = new Gate();
        var environment = GatedEnvironment(gate);
        using var programs = new ProgramArrayMap("programs", 4);
        int mapIndex = environment.AddMap(programs);
        var compile = TestEngines.Get(engine);
        using var entry = compile.Compile(TailCaller(mapIndex, 1, gated: false), environment);
        var middle = compile.Compile(TailCaller(mapIndex, 2, gated: true), environment);
        var last = compile.Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 1234), I(OpCodes.Exit)), environment);
        programs.Set(1, middle);
        programs.Set(2, last);

        string outcome = "none";
        var runner = new Thread(() => outcome = Outcome(() => entry.Run(new byte[8])));
        runner.Start();
        Assert.True(gate.Entered.Wait(Patience), "the chain never reached the middle program");
        middle.Dispose();
        last.Dispose();
        gate.Release.Set();
        Assert.True(runner.Join(Patience), "the run did not end");

        // The same chain from the start, with nothing running: middle is disposed now, so index 1 is a disposed program.
        using var fresh = compile.Compile(TailCaller(mapIndex, 2, gated: false), environment);
        string sequential = Outcome(() => fresh.Run(new byte[8]));
        Assert.NotEqual("r0=1234", sequential); // the disposed last program did not run
        Assert.Equal(sequential, outcome);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_calls_while_the_host_swaps_removes_and_disposes_targets_see_only_what_the_host_set(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var programs = new ProgramArrayMap("programs", 2);
        int mapIndex = environment.AddMap(programs);
        var compile = TestEngines.Get(engine);
        using var entry = compile.Compile(TailCaller(mapIndex, 0, gated: false), environment);
        var outcomes = new HashSet<string>();
        using var stop = new CancellationTokenSource();
        const int Runners = 3;
        long completed = 0;
        var runners = Enumerable.Range(0, Runners).Select(_ => new Thread(() =>
        {
            var seen = new HashSet<string>();
            while (!stop.IsCancellationRequested)
            {
                seen.Add(Outcome(() => entry.Run(new byte[8])));
                Interlocked.Increment(ref completed);
            }

            lock (outcomes)
            {
                outcomes.UnionWith(seen);
            }
        })).ToList();
        runners.ForEach(r => r.Start());

        var disposedTargets = new List<string>();
        for (int i = 0; i < 200; i++)
        {
            var target = compile.Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 1000 + (i % 3)), I(OpCodes.Exit)), environment);
            programs.Set(0, target);
            if (i % 20 == 0)
            {
                // Let runs that started after the Set finish (at most Runners were already under way), so a live
                // target is certainly seen, whatever the scheduler does on a loaded machine.
                long mark = Interlocked.Read(ref completed);
                Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref completed) > mark + Runners, Patience), "the runners made no progress");
            }

            Thread.Yield();
            if (i % 4 == 0)
            {
                programs.Remove(0);
            }

            target.Dispose();
        }

        stop.Cancel();
        Assert.All(runners, r => Assert.True(r.Join(Patience)));

        // What a run may see: a live target's result, the missing index (the caller continues and returns 7), or
        // whatever a tail call into a disposed program gives when nothing else is running.
        var disposed = compile.Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 999), I(OpCodes.Exit)), environment);
        programs.Set(0, disposed);
        disposed.Dispose();
        string intoDisposed = Outcome(() => entry.Run(new byte[8]));
        var allowed = new HashSet<string> { "r0=1000", "r0=1001", "r0=1002", "r0=7", intoDisposed };
        Assert.Subset(allowed, outcomes);
        Assert.Contains(outcomes, o => o.StartsWith("r0=100", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Host_updates_and_deletes_of_a_hash_map_under_running_lookups_show_only_values_the_host_wrote(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var map = new HashMap("values", 4, 8, 4);
        int mapIndex = environment.AddMap(map);
        using var compiled = TestEngines.Get(engine).Compile(LookupKeyZero(mapIndex), environment);
        var bad = new List<string>();
        int found = 0;
        using var stop = new CancellationTokenSource();
        var runners = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                ulong r0 = compiled.Run();
                if (r0 != 0)
                {
                    Interlocked.Increment(ref found);
                }

                // Written values repeat one byte in 1..8 (a torn read would mix such bytes, which is still a written byte).
                if (r0 != 0 && BitConverter.GetBytes(r0).Any(b => b is 0 or > 8))
                {
                    lock (bad)
                    {
                        bad.Add($"0x{r0:x}");
                    }
                }
            }
        })).ToList();
        runners.ForEach(r => r.Start());
        for (int i = 0; i < 20_000; i++)
        {
            byte b = (byte)(1 + (i % 8));
            Assert.Equal(MapStatus.Success, map.Update(0u, 0x0101010101010101UL * b));
            Assert.Equal(MapStatus.Success, map.Update(1u + (uint)(i % 3), 0x0101010101010101UL * (byte)(1 + ((i + 3) % 8))));
            if (i % 3 == 0)
            {
                Assert.Equal(MapStatus.Success, map.Delete(0u));
            }
        }

        stop.Cancel();
        Assert.All(runners, r => Assert.True(r.Join(Patience)));
        Assert.Empty(bad);
        Assert.True(found > 0, "no run ever saw the key");
    }

    /// <summary>
    /// Looks key 0 up in map <paramref name="mapIndex"/> (r6 = the value's address), waits in the gate helper, then
    /// returns the 8 bytes at r6 and writes 0x5a5a... over them (0 when the key was absent).
    /// </summary>
    private static EbpfProgram HoldValuePointer(int mapIndex) => Program(
        LookupKeyZeroIntoR6(mapIndex),
        I(OpCodes.JeqImm, 6, offset: 5, imm: 0),
        I(OpCodes.Call, imm: BlockingHelper + 1000),
        I(OpCodes.LdxDW, 0, 6, 0),
        Lddw(7, 0x5a5a5a5a5a5a5a5a),
        I(OpCodes.StxDW, 6, 7, 0),
        I(OpCodes.Exit));

    /// <summary>Runs the program on another thread; <paramref name="host"/> acts while the run waits in the gate with the pointer held.</summary>
    private static string RunWhileHostActs(string engine, ProgramEnvironment environment, int mapIndex, Action host)
    {
        using var gate = new Gate();
        environment.Helpers.Add(BlockingHelper + 1000, "gate", (_, _, _, _, _) => gate.Wait());
        using var compiled = TestEngines.Get(engine).Compile(HoldValuePointer(mapIndex), environment);
        string outcome = "none";
        var runner = new Thread(() =>
        {
            try
            {
                outcome = $"r0=0x{compiled.Run():x}";
            }
            catch (Exception e)
            {
                outcome = e is EbpfException ? e.GetType().Name : "foreign " + e;
            }
        });
        runner.Start();
        Assert.True(gate.Entered.Wait(Patience), "the run never reached the gate");
        host();
        gate.Release.Set();
        Assert.True(runner.Join(Patience), "the run did not end");
        return outcome;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Disposing_a_map_under_a_held_value_pointer_never_lets_the_program_touch_freed_or_reused_memory(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var map = new ArrayMap("values", 8, 64);
        int mapIndex = environment.AddMap(map);
        Assert.Equal(MapStatus.Success, map.Update(0u, 0x1122334455667788UL));
        var later = new List<ArrayMap>();
        try
        {
            string outcome = RunWhileHostActs(engine, environment, mapIndex, () =>
            {
                map.Dispose();

                // Allocations of the same size right after: freed memory would be handed out again here.
                for (int i = 0; i < 32; i++)
                {
                    var fresh = new ArrayMap("later", 8, 64);
                    for (uint k = 0; k < 64; k++)
                    {
                        fresh.Update(k, 0x0123012301230123UL);
                    }

                    later.Add(fresh);
                }
            });

            // The program read the value it looked up (the memory was still the map's), and its write landed there.
            Assert.Equal("r0=0x1122334455667788", outcome);
            Assert.All(later, fresh => Assert.All(fresh.GetEntries<uint, ulong>(), e => Assert.Equal(0x0123012301230123UL, e.Value)));
            Assert.Throws<ObjectDisposedException>(() => map.Update(0u, 1UL));

            // After the Dispose a new run finds nothing.
            using var again = TestEngines.Get(engine).Compile(HoldValuePointer(mapIndex), environment);
            Assert.Equal(0UL, again.Run());
        }
        finally
        {
            later.ForEach(m => m.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Deleting_and_recreating_hash_entries_under_a_held_value_pointer_keeps_the_program_inside_the_map(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var map = new HashMap("values", 4, 8, 2);
        int mapIndex = environment.AddMap(map);
        Assert.Equal(MapStatus.Success, map.Update(0u, 0x1111111111111111UL));
        string outcome = RunWhileHostActs(engine, environment, mapIndex, () =>
        {
            // The held slot is freed and taken by another key: the program's pointer now designates key 7's value.
            Assert.Equal(MapStatus.Success, map.Delete(0u));
            Assert.Equal(MapStatus.Success, map.Update(7u, 0x7777777777777777UL));
            Assert.Equal(MapStatus.Success, map.Update(8u, 0x8888888888888888UL));
        });

        // Both slots of the map are taken again, so the held one belongs to key 7 or key 8: the program saw that entry's
        // value and wrote there (inside the map, as the kernel allows); the other entry is untouched.
        uint held = outcome switch
        {
            "r0=0x7777777777777777" => 7u,
            "r0=0x8888888888888888" => 8u,
            _ => throw new Xunit.Sdk.XunitException($"unexpected outcome {outcome}"),
        };
        Assert.True(map.TryLookup(held, out ulong written));
        Assert.Equal(0x5a5a5a5a5a5a5a5aUL, written);
        Assert.True(map.TryLookup(15u - held, out ulong other));
        Assert.Equal(held == 7 ? 0x8888888888888888UL : 0x7777777777777777UL, other);
        Assert.False(map.TryLookup(0u, out ulong _));
    }

    /// <summary>
    /// Optionally waits in the gate helper, then tail-calls index <paramref name="index"/> of the program array at map
    /// <paramref name="mapIndex"/>; when the slot is empty the call returns and the program returns 7.
    /// </summary>
    private static EbpfProgram TailCaller(int mapIndex, int index, bool gated) => Program(
        I(OpCodes.Mov64Reg, 6, 1),
        gated ? I(OpCodes.Call, imm: BlockingHelper + 1000) : I(OpCodes.Mov64Imm, 0, imm: 0),
        I(OpCodes.Mov64Reg, 1, 6),
        new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, mapIndex), new(0, 0, 0, 0, 0) },
        I(OpCodes.Mov64Imm, 3, imm: index),
        I(OpCodes.Call, imm: (int)LinuxHelperIds.TailCall),
        I(OpCodes.Mov64Imm, 0, imm: 7),
        I(OpCodes.Exit));

    /// <summary>r6 = the address of key 0's value in map <paramref name="mapIndex"/> (0 when absent), r0 = 0.</summary>
    private static Instruction[] LookupKeyZeroIntoR6(int mapIndex) =>
    [
        I(OpCodes.StW, 10, offset: -4, imm: 0),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, imm: -4),
        new(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, mapIndex),
        new(0, 0, 0, 0, 0),
        I(OpCodes.Call, imm: (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Mov64Reg, 6, 0),
        I(OpCodes.Mov64Imm, 0, imm: 0),
    ];

    /// <summary>Looks up key 0 in the hash map at <paramref name="mapIndex"/>: its 8-byte value, or 0 when absent.</summary>
    private static EbpfProgram LookupKeyZero(int mapIndex) => Program(
        LookupKeyZeroIntoR6(mapIndex),
        I(OpCodes.JeqImm, 6, offset: 1, imm: 0),
        I(OpCodes.LdxDW, 0, 6, 0),
        I(OpCodes.Exit));

    private static string Outcome(Func<ulong> run)
    {
        try
        {
            return $"r0={run()}";
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }
}
