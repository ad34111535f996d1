namespace Ebpf.Execution;

/// <summary>
/// The runs in progress on the threads' own run states at one moment (<see cref="RunSlots"/>: a run's sequence is odd
/// from its start to its end), to wait for: something that a run may have read before that moment and go on using until
/// it ends (the machine-code entry of a tail call's target, see the x64 engine) can be freed once every one of them has
/// ended. Only runs on a thread's own state are seen: code that relies on this checks that it runs on one.
/// </summary>
internal readonly unsafe struct RunGrace
{
    private readonly (RunSlots Thread, int Sequence)[] runs;

    private RunGrace((RunSlots, int)[] runs) => this.runs = runs;

    /// <summary>
    /// The runs in progress now. A process-wide barrier first, as <see cref="CompiledProgram.Dispose()"/>'s for the run
    /// leases: a run writes its odd sequence with a plain store and reads what the caller changed (e.g. a table entry)
    /// later with no fence between; after the barrier either its store is seen here, or its read sees the change.
    /// </summary>
    public static RunGrace Now()
    {
        Interlocked.MemoryBarrierProcessWide();
        var runs = new List<(RunSlots, int)>();
        foreach (var thread in RunSlots.All)
        {
            int sequence = Volatile.Read(ref thread.State->RunSequence);
            if ((sequence & 1) != 0)
            {
                runs.Add((thread, sequence));
            }
        }

        return new RunGrace(runs.ToArray());
    }

    /// <summary>True once every run of <see cref="Now"/> has ended.</summary>
    public bool Passed
    {
        get
        {
            Interlocked.MemoryBarrier();
            foreach (var (thread, sequence) in runs ?? [])
            {
                if (Volatile.Read(ref thread.State->RunSequence) == sequence)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
