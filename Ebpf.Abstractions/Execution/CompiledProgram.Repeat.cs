using System.Runtime.CompilerServices;
using Ebpf.Diagnostics;

namespace Ebpf.Execution;

/// <summary>
/// Repeated runs on one input (a kernel test run's <c>--repeat</c>): the work that is the same for every run (pinning,
/// the thread's stack area and run state, the telemetry check, the type test of the caller) is done once, and the loop
/// runs where the engine's code is entered, so that the time per run is the program's and the run path's, not the
/// caller's.
/// </summary>
public abstract unsafe partial class CompiledProgram
{
    /// <summary>
    /// Runs a program compiled for a host-built context (see <see cref="RunWithContext"/>) <paramref name="count"/>
    /// times on <paramref name="memory"/> and <paramref name="context"/>, each run on what the runs before left there
    /// (as the kernel's repeated test run does), and returns the last run's r0. <paramref name="stop"/> is looked at
    /// before every run: once it is cancelled, the next run does not start and the loop throws
    /// <see cref="EbpfRunCancelledException"/> at pc 0. The caller vouches that every run ends by itself (no token is
    /// registered with a run); <see cref="ExecutionOptions.RunTimeLimit"/> applies to each run as to a single run. The
    /// run metrics are looked at once, when the loop starts: a listener that starts during the loop sees the runs of
    /// the next call.
    /// </summary>
    /// <exception cref="EbpfRunCancelledException"><paramref name="stop"/> was cancelled between two runs.</exception>
    /// <exception cref="EbpfRuntimeException">A run failed (the runs after it do not start).</exception>
    internal ulong RunRepeatedWithContext(Span<byte> memory, Span<byte> context, int count, CancellationToken stop)
    {
        fixed (byte* m = memory)
        fixed (byte* c = context)
        {
            return RunRepeated(m, (ulong)memory.Length, c, (ulong)context.Length, count, stop);
        }
    }

    /// <summary>
    /// <see cref="RunRepeatedWithContext"/> on pinned memory. On the common run's terms (no timeout, nobody listening to
    /// the run metrics when the loop starts, this thread's stack area free, a context) each run is the common run
    /// (<see cref="RunFast"/>), or for a <see cref="brief"/> program and a program the engine runs in its own code
    /// (<see cref="RepeatsInOwnCode"/>) the engine's own loop (<see cref="ExecuteInCodeRepeatedly"/>); otherwise each run
    /// takes the plain run path as a single run does.
    /// Compiled optimised from its first call: it is called a few times per test run, each call looping long, so tiered
    /// compilation would run it as unoptimised code replaced on the stack (OSR) rather than as its final code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong RunRepeated(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, int count, CancellationToken stop)
    {
        ulong r0 = 0;
        RunStack? stack;
        if (metadataLength == 0 || !untimed || EbpfTelemetry.RunsObserved || (stack = RunStack.TryCurrent(StackBytes)) is null)
        {
            for (int i = 0; i < count; i++)
            {
                StopIfRequested(stop);
                r0 = Run(memory, memoryLength, metadata, metadataLength, CancellationToken.None);
            }

            return r0;
        }

        if (stack.PreparedFor != runId)
        {
            PrepareThreadState(stack);
        }

        if (brief || RepeatsInOwnCode)
        {
            if (count <= 0)
            {
                return 0;
            }

            var regions = PrepareRun(stack.State, memory, memoryLength, metadata, metadataLength);
            if (!leased && Volatile.Read(ref disposed) != 0)
            {
                ThrowDisposed();
            }

            r0 = ExecuteInCodeRepeatedly(stack, count, stop);
            GC.KeepAlive(regions);
            return r0;
        }

        for (int i = 0; i < count; i++)
        {
            StopIfRequested(stop);
            r0 = RunFast(stack, memory, memoryLength, metadata, metadataLength);
        }

        return r0;
    }

    /// <summary>
    /// Whether a program that is not <see cref="brief"/> runs in the engine's own code from start to end, its helper
    /// calls (if any) made in line or from the engine's own loop around its code, so that
    /// <see cref="ExecuteInCodeRepeatedly"/>, which the engine then overrides, can keep what it sets up for its code from
    /// one run to the next (and must end each run as the common run does when a helper can change the run state's
    /// per-run fields). False unless an engine says so.
    /// </summary>
    private protected virtual bool RepeatsInOwnCode => false;

    /// <summary>
    /// Runs a <see cref="brief"/> program <paramref name="count"/> (at least 1) times on the thread's state, prepared for
    /// this program and for the run's input (<see cref="PrepareRun"/>), as <see cref="RunBrief"/> runs it once each
    /// time: <paramref name="stop"/> looked at before each run (see <see cref="StopIfRequested"/>), the disposed check,
    /// the budget it starts with, the region table the environment has then (a table replaced meanwhile is written
    /// again: a host that removes a region finds no later run using it), the code, and the stack bytes it could write
    /// cleared after each run however it ends. An engine overrides this to keep what it sets up for its code (x64: the
    /// run block) from one run to the next; an engine whose <see cref="RepeatsInOwnCode"/> can be true must, since this
    /// loop is only right for brief code.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    private protected virtual ulong ExecuteInCodeRepeatedly(RunStack stack, int count, CancellationToken stop)
    {
        RunState* state = stack.State;
        var regions = Environment.GetPinnedRegions();
        ulong r0 = 0;
        for (int i = 0; i < count; i++)
        {
            StopIfRequested(stop);
            state->BudgetRemaining = budget;
            regions = CurrentRegions(state, regions);
            if (!leased && Volatile.Read(ref disposed) != 0)
            {
                ThrowDisposed();
            }

            r0 = dirtyStackBytes != 0 ? RunBriefClearing(stack, regions) : leased ? ExecuteBrief(stack) : Execute(ref *state);
        }

        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// The environment's region table for the next of repeated runs: <paramref name="regions"/> (the one the runs used
    /// so far) when it has not changed, else the new one, written into <paramref name="state"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected MemoryRegion[] CurrentRegions(RunState* state, MemoryRegion[] regions)
    {
        var now = Environment.GetPinnedRegions();
        if (!ReferenceEquals(now, regions))
        {
            state->Regions = (MemoryRegion*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(now));
            state->RegionCount = now.Length;
        }

        return now;
    }

    /// <summary>The stack bytes a run of this program can write (see <see cref="StackFootprint"/>).</summary>
    private protected int DirtyStackBytes => dirtyStackBytes;

    /// <summary>Throws the error of repeated runs stopped by <paramref name="stop"/> before the next run, when it is cancelled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void StopIfRequested(CancellationToken stop)
    {
        if (stop.IsCancellationRequested)
        {
            ThrowStopped(stop);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowStopped(CancellationToken stop) =>
        throw new EbpfRunCancelledException(0, Program.Instructions[0], null, stop);
}
