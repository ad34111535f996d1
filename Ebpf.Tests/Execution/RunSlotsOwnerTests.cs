using Ebpf.Execution;

namespace Ebpf.Tests.Execution;

/// <summary>
/// <see cref="RunState.OwnerSlots"/>: a thread's run state names the slots of its thread, so that a tail call entered
/// by an engine takes its lease in the running thread's slots without a thread-static look-up; a run's own state names
/// none (the thread's slots are looked up then); the name is forgotten once the thread has ended and is dropped.
/// </summary>
public unsafe class RunSlotsOwnerTests
{
    [Fact]
    public void A_threads_run_state_leads_to_that_threads_slots_and_a_runs_own_state_to_the_callers()
    {
        RunSlots? mine = null, found = null, foundForOwn = null;
        using var checkedByMain = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            mine = RunSlots.Current;
            found = RunSlots.Of(mine.State);
            RunState own = default;
            foundForOwn = RunSlots.Of(&own);
            started.Set();

            // Alive until the main thread has looked at this thread's state (a dropped thread's name is forgotten).
            checkedByMain.Wait();
        });
        worker.Start();
        started.Wait();
        try
        {
            Assert.NotNull(mine);
            Assert.Same(mine, found);
            Assert.Same(mine, foundForOwn);

            // Another thread's state leads to its owner, not to the caller's slots.
            Assert.Same(mine, RunSlots.Of(mine.State));
            Assert.NotSame(RunSlots.Current, RunSlots.Of(mine.State));
        }
        finally
        {
            checkedByMain.Set();
            worker.Join();
        }
    }

    [Fact]
    public void The_name_is_forgotten_once_the_thread_has_ended_and_is_dropped()
    {
        RunSlots? ended = null;
        nint named = 0;
        var worker = new Thread(() =>
        {
            ended = RunSlots.Current;
            named = ended.State->OwnerSlots;
        });
        worker.Start();
        worker.Join();
        Assert.NotEqual(0, named);

        // (The watchdog may have dropped the thread already; either way the name is gone after this.)
        RunSlots.DropEnded();

        Assert.Equal(0, ended!.State->OwnerSlots);
        Assert.DoesNotContain(ended, RunSlots.All);

        // The slots of a thread that still runs keep theirs.
        var live = RunSlots.Current;
        Assert.NotEqual(0, live.State->OwnerSlots);
        Assert.Same(live, RunSlots.Of(live.State));
    }
}
