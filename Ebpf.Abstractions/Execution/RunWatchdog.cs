using System.Diagnostics;

namespace Ebpf.Execution;

/// <summary>
/// The process-wide watchdog of <see cref="ExecutionOptions.RunTimeLimit"/>: one background thread, started with the
/// first program that has a limit, that looks every limit / 10 (between 5 and 100 ms, the shortest limit seen so far
/// decides) at the run state of every thread that ran a program (<see cref="RunSlots.All"/>). A run whose watch word
/// (<see cref="RunState.RunSequence"/>) it has seen unchanged and odd for longer than the run's
/// <see cref="RunState.WatchLimit"/> is stopped: a compare-and-exchange of the whole word sets
/// <see cref="RunState.CancelRequested"/>, which the engines already poll at backward jumps and between interpreter
/// slices. The compare-and-exchange fails when the run ended or another began meanwhile (the sequence moved on), so
/// only the run that was seen too old is ever stopped, and never before its limit: the clock starts when the watchdog
/// first sees the run, at or after its start. A run pays nothing for this but the two plain stores of its watch word.
/// </summary>
internal static unsafe class RunWatchdog
{
    /// <summary>The shortest period between two looks, in <see cref="TimeSpan"/> ticks (limits under 50 ms are honoured this coarsely).</summary>
    private static readonly long MinPeriod = TimeSpan.FromMilliseconds(5).Ticks;

    /// <summary>The longest period between two looks, in <see cref="TimeSpan"/> ticks.</summary>
    private static readonly long MaxPeriod = TimeSpan.FromMilliseconds(100).Ticks;

    /// <summary>Guards the start of the thread and the period.</summary>
    private static readonly Lock StartGate = new();

    /// <summary>
    /// Makes one scan at a time (the thread's, or a test's through <see cref="Scan"/>); a test that
    /// holds it keeps the watchdog's own thread from looking meanwhile (it is reentrant).
    /// </summary>
    internal static readonly Lock ScanGate = new();

    /// <summary>The period in <see cref="TimeSpan"/> ticks (<see cref="long.MaxValue"/> until a limit is seen).</summary>
    private static long period = long.MaxValue;

    private static Thread? thread;

    /// <summary><see cref="Now"/> as the clock of the watchdog's own scans (one delegate, made once).</summary>
    private static readonly Func<long> Clock = Now;

    /// <summary>
    /// Makes sure the watchdog runs, often enough for <paramref name="limit"/> (a valid, finite
    /// <see cref="ExecutionOptions.RunTimeLimit"/>). Called when a program is compiled, never per run.
    /// </summary>
    public static void Watch(TimeSpan limit)
    {
        long wanted = Math.Clamp(limit.Ticks / 10, MinPeriod, MaxPeriod);
        if (wanted < Volatile.Read(ref period) || thread is null)
        {
            lock (StartGate)
            {
                if (wanted < period)
                {
                    Volatile.Write(ref period, wanted);
                }

                if (thread is null)
                {
                    thread = new Thread(Loop) { IsBackground = true, Name = "Ebpf run watchdog" };
                    thread.Start();
                }
            }
        }

    }

    /// <summary>Now, in <see cref="TimeSpan"/> ticks of the monotonic clock (the unit of <see cref="Scan"/>).</summary>
    public static long Now() => Stopwatch.GetElapsedTime(0).Ticks;

    /// <summary>
    /// Looks once at every thread's run state at time <paramref name="now"/> (<see cref="TimeSpan"/> ticks of
    /// <see cref="Now"/>) and stops
    /// the runs seen running since more than their limit; returns how many it stopped. The watchdog's thread calls it
    /// periodically; tests call it with a clock of their own to drive the watchdog by hand, and with
    /// <paramref name="only"/> (their own thread's <see cref="RunSlots.Current"/>) so that a clock ahead of time never
    /// stops the runs of other threads. A run seen for the first time is timed from <paramref name="seenAt"/>, read
    /// after its watch word, when given (else from <paramref name="now"/>): a watchdog thread descheduled between
    /// reading <paramref name="now"/> and the word (a loaded machine) would otherwise date a run that began meanwhile
    /// from before its start, and stop it at its next look, however young it was. <paramref name="now"/> still decides
    /// the stops: read before the words, it can only make a run look younger than it is.
    /// </summary>
    internal static int Scan(long now, RunSlots? only = null, Func<long>? seenAt = null)
    {
        int stopped = 0;
        lock (ScanGate)
        {
            foreach (var thread in only is null ? RunSlots.All : [only])
            {
                long* word = (long*)thread.State;
                long seen = Volatile.Read(ref *word);
                int sequence = (int)(seen >> 32);
                if ((sequence & 1) == 0)
                {
                    continue; // no run on this thread's run state
                }

                if (sequence != thread.WatchedSequence)
                {
                    // A run the watchdog has not seen yet: its clock starts now.
                    thread.WatchedSequence = sequence;
                    thread.WatchedSince = seenAt is null ? now : Math.Max(now, seenAt());
                    continue;
                }

                // Read after the word: the run wrote its limit before the word, and a later run changes the word.
                long limit = Volatile.Read(ref thread.State->WatchLimit);
                if (limit != 0 && (int)seen == 0 && now - thread.WatchedSince >= limit
                    && Interlocked.CompareExchange(ref *word, seen | 1, seen) == seen)
                {
                    stopped++;
                }
            }
        }

        return stopped;
    }

    private static void Loop()
    {
        long lastDrop = Now();
        while (true)
        {
            Thread.Sleep(TimeSpan.FromTicks(Volatile.Read(ref period)));
            long now = Now();
            _ = Scan(now, null, Clock);
            if (now - lastDrop >= TimeSpan.TicksPerSecond)
            {
                // Once a second: forget the threads that ended, so that their run states can be collected.
                RunSlots.DropEnded();
                lastDrop = now;
            }
        }
    }
}
