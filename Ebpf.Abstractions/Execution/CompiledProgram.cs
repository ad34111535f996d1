using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Diagnostics;
using Ebpf.Diagnostics;
using Ebpf.Helpers;

namespace Ebpf.Execution;

/// <summary>
/// The shared half of the compiled programs of this library's engines: it pins the memory, sets up the stack and the
/// run state, runs the engine's code, and carries out tail calls, so that the calling convention and the region rules
/// are the same everywhere. Only its <see cref="ICompiledProgram"/> surface is public: the run state, the raw-pointer
/// entry point, the helper invocation and the memory guard are the engines' internal runtime kit (shared with the
/// three engine assemblies only). An engine from elsewhere implements <see cref="ICompiledProgram"/> directly.
/// </summary>
/// <remarks>
/// No local of the run methods is zeroed on entry (<see cref="SkipLocalsInitAttribute"/>): the JIT inlines an engine's run
/// method (e.g. x64's with its 272-byte run block, written before it is read) into the public one, whose frame would
/// otherwise be cleared on every run. Every local is assigned before it is read; the one stack buffer is cleared explicitly.
/// </remarks>
[SkipLocalsInit]
public abstract unsafe partial class CompiledProgram : ICompiledProgram
{
    /// <summary>
    /// How many instructions the interpreter runs between two looks at <see cref="RunState.CancelRequested"/> when a
    /// run can be cancelled (tens of microseconds of interpretation; helper calls look after every call).
    /// </summary>
    internal const long CancellationSlice = 1 << 14;

    /// <summary>A timer source per thread, reused by runs with a timeout while it has not fired.</summary>
    [ThreadStatic]
    private static CancellationTokenSource? idleTimer;

    private int disposed;

    /// <summary>
    /// For an engine whose resources must outlive every run (the x64 engine's code mapping): the owner's reference (1
    /// until disposed) plus one per counted lease in flight. Each direct run and each tail call into this program holds
    /// a lease, so the resources are released only after the last of them ends: machine code is never unmapped under a
    /// running thread. A direct run's lease is a slot of its thread (<see cref="RunSlots"/>) rather than a count when one
    /// is free, and so is a tail call's (see <see cref="TryEnterTailCall"/>); deeply nested runs and tail calls count here. Engines whose code the garbage collector keeps alive take
    /// no lease.
    /// </summary>
    private int leases = 1;

    /// <summary>Set once the engine's resources have been released (they are released exactly once).</summary>
    private int released;

    /// <summary>The last run id given to a program (see <see cref="runId"/>).</summary>
    private static long lastRunId;

    /// <summary>This program's identity in <see cref="RunSlots"/> (never 0, never reused).</summary>
    private readonly long runId = Interlocked.Increment(ref lastRunId);

    /// <summary>Whether runs take a lease (see <see cref="leases"/>).</summary>
    private readonly bool leased;

    /// <summary>Whether a plain run takes the fast path: no timeout configured.</summary>
    private readonly bool untimed;

    /// <summary>Whether a plain run can take the fast path: no timeout configured (the per-run floor breakdown of
    /// <c>Ebpf.Bench --floor-layers</c> reads it as the run does).</summary>
    internal bool Untimed => untimed;

    /// <summary>
    /// <see cref="ExecutionOptions.RunTimeLimit"/> in <see cref="TimeSpan"/> ticks (<see cref="RunState.WatchLimit"/>
    /// of this program's runs), or 0 when there is none.
    /// </summary>
    private readonly long watchLimit;

    /// <summary>
    /// <see cref="ByWatchdogOnly"/> when <see cref="watchLimit"/> is set (the run can then be stopped:
    /// <see cref="RunState.Cancellable"/>), else 0.
    /// </summary>
    private readonly int watched;

    /// <summary>The bytes at the top of the stack area a run of this program can write (see <see cref="StackFootprint"/>).</summary>
    private readonly int dirtyStackBytes;

    /// <summary><see cref="RunState.BudgetRemaining"/> at the start of a run: the instruction budget, or <see cref="long.MaxValue"/>.</summary>
    private readonly long budget;

    /// <summary>
    /// Whether the program is brief (<see cref="BriefCode"/>): every run executes at most <see cref="BriefCode.MaxSlots"/>
    /// instructions and runs no host code. No engine polls such code for a stop, so a run whose token is cancelled
    /// before it starts refuses to start (see <see cref="RunCore"/>).
    /// </summary>
    private readonly bool brief;

    /// <summary>Whether the program is brief (see <see cref="BriefCode"/>; x64 enters such code without the GC transition).</summary>
    private protected bool Brief => brief;


    /// <summary>Initialises the shared part for an engine whose code needs no run lease (the garbage collector keeps it alive).</summary>
    private protected CompiledProgram(string engineName, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
        : this(engineName, program, environment, options, runLeases: false)
    {
    }

    /// <summary>
    /// Initialises the shared part. <paramref name="runLeases"/>: whether runs take a lease, so that
    /// <see cref="Dispose(bool)"/> waits for the last run (an engine that releases native code must).
    /// </summary>
    private protected CompiledProgram(string engineName, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, bool runLeases)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        EngineName = engineName;
        Program = program;
        Environment = environment;
        Options = options.Validate();
        StackBytes = options.StackSize * options.MaxCallDepth;
        leased = runLeases;
        untimed = Options.Timeout is null;
        if (Options.EffectiveRunTimeLimit is { } limit)
        {
            RunWatchdog.Watch(limit);
            watchLimit = limit.Ticks;
            watched = ByWatchdogOnly;
        }
        dirtyStackBytes = StackFootprint.DirtyBytes(program, environment, Options);
        entryContext = Options.EntryContext;
        budget = Options.InstructionBudget ?? long.MaxValue;
        brief = BriefCode.IsBrief(program);
        directEligible = DirectEntry.Qualifies(program, Options);
        loopDirectEligible = DirectEntry.QualifiesWithLoops(program, Options);
    }

    /// <inheritdoc />
    public string EngineName { get; }

    /// <inheritdoc />
    public EbpfProgram Program { get; }

    /// <inheritdoc />
    public ProgramEnvironment Environment { get; }

    /// <inheritdoc />
    public ExecutionOptions Options { get; }

    /// <summary>The size of the whole stack area of a run (frame size times maximum depth).</summary>
    protected int StackBytes { get; }

    /// <inheritdoc />
    public ulong Run()
    {
        RequireRawEntry();
        return Run(null, 0, null, 0);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only tests and calls, so that this method has no frame of its own: a direct run does not pay for the registers of
    /// the plain run's frame, and each kind of direct run (native body or engine method, see
    /// <see cref="RunNativeDirect"/> and <see cref="RunManagedDirect"/>) has a method of its own, shaped by the
    /// runtime's profile for that kind only. Optimized from its first call, as the direct-run methods are (see
    /// <see cref="RunManagedDirect"/>); a caller's optimized code still inlines it.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ulong Run(Span<byte> memory) =>
        !direct ? RunSpan(memory) : nativeDirect != 0 ? RunNativeDirect(memory) : RunManagedDirect(memory);

    /// <summary><see cref="Run(Span{byte})"/> of a program without a direct entry, as a method of its own (see there).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong RunSpan(Span<byte> memory)
    {
        RequireRawEntry();
        fixed (byte* m = memory)
        {
            return Run(m, (ulong)memory.Length, null, 0);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, Span<byte> metadata)
    {
        RequireRawEntry();
        fixed (byte* m = memory)
        fixed (byte* md = metadata)
        {
            return Run(m, (ulong)memory.Length, md, (ulong)metadata.Length);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, CancellationToken cancellationToken)
    {
        RequireRawEntry();
        fixed (byte* m = memory)
        {
            return Run(m, (ulong)memory.Length, null, 0, cancellationToken);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellationToken)
    {
        RequireRawEntry();
        fixed (byte* m = memory)
        fixed (byte* md = metadata)
        {
            return Run(m, (ulong)memory.Length, md, (ulong)metadata.Length, cancellationToken);
        }
    }

    /// <summary>
    /// Runs on unmanaged memory until it ends, <paramref name="cancellationToken"/> is cancelled or
    /// <see cref="ExecutionOptions.Timeout"/> passes (see <see cref="ICompiledProgram.Run(Span{byte}, CancellationToken)"/>).
    /// The caller guarantees both ranges stay valid for the run.
    /// </summary>
    internal ulong Run(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled
            ? RunCore(memory, memoryLength, metadata, metadataLength, null, cancellationToken)
            : Run(memory, memoryLength, metadata, metadataLength);

    /// <summary>
    /// The error an engine throws when it sees <see cref="RunState.CancelRequested"/> at <paramref name="pc"/>. When
    /// only the watchdog can stop the run (<see cref="RunState.Cancellable"/> is <see cref="ByWatchdogOnly"/>) it is
    /// complete; otherwise the shared run code completes it with the token, the timeout or the run time limit (see
    /// <see cref="IsIncomplete"/>), so the common run needs no catch clause.
    /// </summary>
    internal static EbpfRunCancelledException CancelledAt(EbpfProgram program, int pc, ref RunState state)
    {
        ArgumentNullException.ThrowIfNull(program);
        return state.Cancellable == ByWatchdogOnly
            ? EbpfRunCancelledException.ForRunTimeLimit(pc, program.Instructions[pc], TimeSpan.FromTicks(state.WatchLimit), default)
            : new EbpfRunCancelledException(pc, program.Instructions[pc], null, default);
    }

    /// <summary><see cref="RunState.Cancellable"/> of a run only the <see cref="RunWatchdog"/> can stop.</summary>
    internal const int ByWatchdogOnly = 1;

    /// <summary><see cref="RunState.Cancellable"/> of a run a token or a timer can stop (perhaps the watchdog too).</summary>
    private const int FromOutside = 2;

    /// <summary>Whether <paramref name="e"/> is an engine's <see cref="CancelledAt"/> that the run code has not completed yet.</summary>
    private static bool IsIncomplete(EbpfRunCancelledException e) => e.Timeout is null && !e.CancellationToken.CanBeCanceled;

    /// <summary>The stop of a run by this program's <see cref="ExecutionOptions.RunTimeLimit"/>, completing the engine's <paramref name="e"/>.</summary>
    private EbpfRunCancelledException RunTimeLimitPassed(EbpfRunCancelledException e, CancellationToken cancellationToken) =>
        EbpfRunCancelledException.ForRunTimeLimit(e.Pc, e.Instruction, Options.EffectiveRunTimeLimit!.Value, cancellationToken);

    /// <summary>
    /// Runs on unmanaged memory. With metadata: r1 = metadata, r2 = its length; without: r1 = memory, r2 = its length.
    /// The caller guarantees both ranges stay valid for the run.
    /// </summary>
    internal ulong Run(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength) =>
        direct && metadataLength == 0
            ? RunDirect(memory, memoryLength)
            : RunPlain(memory, memoryLength, metadata, metadataLength);

    /// <summary>
    /// <see cref="Run(byte*, ulong, byte*, ulong)"/> without the direct entry: the brief run, the common run or the run
    /// with everything (see <see cref="RunCore"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong RunPlain(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        RunStack? stack;
        if (untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(StackBytes)) is not null)
        {
            return brief
                ? RunBrief(stack, memory, memoryLength, metadata, metadataLength)
                : RunFast(stack, memory, memoryLength, metadata, metadataLength);
        }

        return RunCore(memory, memoryLength, metadata, metadataLength, null, default);
    }

    /// <summary>
    /// The common run: no timeout, no token, no observer, nobody listening to the run metrics, and this thread's stack
    /// area free (see <see cref="RunStack"/>). The run state is the thread's (<see cref="RunStack.State"/>), watched by
    /// the <see cref="RunWatchdog"/> at no cost to the run but two plain stores of its watch word; a stop by the watchdog
    /// is complete as the engine throws it (see <see cref="CancelledAt"/>). Only the stack clearing and the watch word
    /// (which ends the lease too) need doing on the way out of a failure.
    /// <para>
    /// The thread's state keeps what belongs to the program between runs (see <see cref="RunStack.PreparedFor"/>): a
    /// run of the program that ran last on the thread writes only its memory, its budget, the region table and the
    /// watch word. The fields a run changes (stop request, tail calls, the helper pc, the dirty stack bytes after
    /// a tail call) go back to their neutral values when it ends, so the next run needs no zeroing.
    /// </para>
    /// </summary>
    private ulong RunFast(RunStack stack, byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        RunState* state = stack.State;
        if (stack.PreparedFor != runId)
        {
            PrepareThreadState(stack);
        }

        var regions = PrepareRun(state, memory, memoryLength, metadata, metadataLength);
        long watch = EnterOnThread(stack);
        ulong r0;
        try
        {
            r0 = Execute(ref *state);
            if (state->TailCallTarget != 0)
            {
                r0 = ContinueTailCalls(ref *state, r0);
            }
        }
        catch
        {
            // The end of the run on the way out of a failure; the run that returns does it below, in line (a finally
            // with this much in it is called as a handler on the normal path too, which costs the floor a call).
            EndFast(stack, watch);
            throw;
        }

        EndFast(stack, watch);
        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// The plain run of a <see cref="brief"/> program: the run's fields, the engine's code and the stack clearing, and on
    /// an engine with run leases the lease around its code (<see cref="ExecuteBrief"/>), nothing else. The watch word of
    /// the other plain runs serves three things, none of which such a run needs as such: the <see cref="RunWatchdog"/>
    /// (the run executes at most <see cref="BriefCode.MaxSlots"/> instructions, microseconds, so it cannot outrun any
    /// <see cref="ExecutionOptions.RunTimeLimit"/> by more than that; the limit is in effect checked as it starts), the
    /// run lease (an engine without leases has none: the garbage collector keeps its code alive while this frame runs
    /// it; x64 needs none for brief code either, whose mapping outlives every reference to the program, see
    /// <see cref="ExecuteBrief"/>) and the thread's stack area marked busy
    /// (<see cref="RunStack.Busy"/>: no code but the program's runs until the run has ended and cleared the stack, since
    /// the program calls no helper, and the <c>catch</c> of <see cref="RunBriefClearing"/> clears it before any filter of
    /// the caller can run). Nothing a helper changes (stop request, tail calls, helper pc) can change, so nothing is put
    /// back either. A program that writes no stack byte (<see cref="dirtyStackBytes"/> 0) has nothing to clear however
    /// its run ends, so its run has no exception handler at all (which keeps the state in a register and lets this
    /// method be inlined into the public run).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong RunBrief(RunStack stack, byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        RunState* state = stack.State;
        if (stack.PreparedFor != runId)
        {
            PrepareThreadState(stack);
        }

        var regions = PrepareRun(state, memory, memoryLength, metadata, metadataLength);
        if (!leased && Volatile.Read(ref disposed) != 0)
        {
            // An engine with leases checks after its lease store (see ExecuteBrief).
            ThrowDisposed();
        }

        if (dirtyStackBytes != 0)
        {
            return RunBriefClearing(stack, regions);
        }

        ulong r0 = leased ? ExecuteBrief(stack) : Execute(ref *state);
        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// Runs the engine's code for a plain run of a <see cref="brief"/> program on the thread's state (prepared for this
    /// program) when the engine takes run leases (the others' code runs through <see cref="Execute"/> directly): the
    /// lease is the watch word, begun by <see cref="EnterOnThread"/> (which reads the disposed flag after its store) and
    /// ended by <see cref="EndLeaseOnThread"/> however the code ends. An engine can do better: x64 keeps the code of a
    /// brief program mapped until the program is garbage-collected, so its brief run takes no lease at all (only the
    /// disposed check) and has no exception handler.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    private protected virtual ulong ExecuteBrief(RunStack stack)
    {
        long watch = EnterOnThread(stack);
        try
        {
            return Execute(ref *stack.State);
        }
        finally
        {
            EndLeaseOnThread(stack, watch);
        }
    }

    /// <summary>
    /// The end of <see cref="RunBrief"/> for a program that can write the stack: the engine's code, then the bytes it
    /// could have written cleared, however the run ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong RunBriefClearing(RunStack stack, MemoryRegion[] regions)
    {
        RunState* state = stack.State;
        ulong r0;
        try
        {
            r0 = leased ? ExecuteBrief(stack) : Execute(ref *state);
        }
        catch
        {
            RunStack.Clear(stack.End, dirtyStackBytes);
            throw;
        }

        RunStack.Clear(stack.End, dirtyStackBytes);
        GC.KeepAlive(regions);
        return r0;
    }

    /// <summary>
    /// Ends a plain run however it ended: zeroes what it could have written of the stack, puts back the fields it
    /// changed, and ends the watch word and the lease (see <see cref="RunFast"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void EndFast(RunStack stack, long watch)
    {
        RunState* state = stack.State;
        RunStack.Clear(stack.End, state->DirtyStackBytes);
        if ((state->StopRequested | state->TailCallCount | state->HelperPc) != 0)
        {
            ResetAfterRun(state);
        }

        LeaveOnThread(stack, watch);
    }

    /// <summary>
    /// Ends one of repeated runs in an engine's own loop (see <see cref="ExecuteInCodeRepeatedly"/>) as
    /// <see cref="EndFast"/> ends a run, with the commonest leftover of such runs put back in line: the tail-call count
    /// and the stack footprint of a run that went through tail calls in the engine's code (each run of a tail-call
    /// chain raises them), which <see cref="EndFast"/> leaves to a call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void EndRepeated(RunStack stack, long watch)
    {
        RunState* state = stack.State;
        RunStack.Clear(stack.End, state->DirtyStackBytes);
        if ((state->StopRequested | state->HelperPc) != 0)
        {
            ResetAfterRun(state);
        }
        else if (state->TailCallCount != 0)
        {
            state->TailCallCount = 0;
            state->DirtyStackBytes = dirtyStackBytes;
        }

        LeaveOnThread(stack, watch);
    }

    /// <summary>
    /// Starts a plain run on the thread's state (prepared for this program): writes the watch word, which with
    /// <see cref="RunState.LeasedProgram"/> is also the run lease (see <see cref="RunSlots"/>), then reads the disposed
    /// flag (after the store: <see cref="Dispose()"/>'s process-wide barrier orders the pair). Returns the watch word for
    /// <see cref="LeaveOnThread"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long EnterOnThread(RunStack stack)
    {
        long watch = stack.BeginWatch();
        if (Volatile.Read(ref disposed) != 0)
        {
            LeaveDisposed(stack, watch);
        }

        return watch;
    }

    /// <summary>
    /// Ends what <see cref="EnterOnThread"/> began: the watch word (which ends the lease), then, when the program was
    /// disposed during the run, the release the last lease out owes, and a tail call still pending when the run failed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void LeaveOnThread(RunStack stack, long watch)
    {
        // The pending target's lease ends first; this run's lease (the watch word) still holds this program, so when the
        // target is this program the release is left to EndLeaseOnThread.
        if (stack.State->TailCallTarget != 0)
        {
            ReleasePendingTailCall(ref *stack.State);
        }

        EndLeaseOnThread(stack, watch);
    }

    /// <summary>
    /// Ends the watch word <see cref="EnterOnThread"/> began (which ends the lease), then, when the program was disposed
    /// during the run, does the release the last lease out owes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EndLeaseOnThread(RunStack stack, long watch)
    {
        stack.EndWatch(watch);
        if (Volatile.Read(ref disposed) != 0 && leased)
        {
            ReleaseIfUnused();
        }
    }

    /// <summary>Leaves a run that found the program disposed as it started (see <see cref="EnterOnThread"/>), and throws.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LeaveDisposed(RunStack stack, long watch)
    {
        stack.EndWatch(watch);
        if (leased)
        {
            ReleaseIfUnused();
        }

        ThrowDisposed();
    }

    /// <summary>
    /// Writes into the thread's state (<paramref name="stack"/>) the fields that are the same for every run of this
    /// program, and records that it holds them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareThreadState(RunStack stack)
    {
        PrepareProgram(stack.State, stack.End);
        stack.PreparedFor = runId;
    }

    /// <summary>Puts back the neutral values of the fields a run of this program changed (see <see cref="RunFast"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ResetAfterRun(RunState* state)
    {
        state->StopRequested = 0;
        state->StopValue = 0;
        state->TailCallCount = 0;
        state->HelperPc = 0;
        state->DirtyStackBytes = dirtyStackBytes;
    }

    /// <summary>
    /// Fills every field of the run state but the watch word (<see cref="RunState.CancelRequested"/> and
    /// <see cref="RunState.RunSequence"/>, see <see cref="RunStack.BeginWatch"/>) for a run on a stack area that ends at
    /// <paramref name="stackEnd"/>; returns the region table the state points into (the caller keeps it alive for the run).
    /// </summary>
    private MemoryRegion[] Prepare(RunState* state, byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, byte* stackEnd)
    {
        PrepareProgram(state, stackEnd);
        return PrepareRun(state, memory, memoryLength, metadata, metadataLength);
    }

    /// <summary>
    /// Writes the fields of the run state that are the same for every run of this program on a stack area that ends
    /// at <paramref name="stackEnd"/>, and the neutral values of the fields a run changes.
    /// </summary>
    private void PrepareProgram(RunState* state, byte* stackEnd)
    {
        state->WatchLimit = watchLimit;
        state->StackStart = (ulong)stackEnd - (ulong)StackBytes;
        state->StackEnd = (ulong)stackEnd;
        state->DirtyStackBytes = dirtyStackBytes;
        state->StopRequested = 0;
        state->StopValue = 0;
        state->TailCallTarget = 0;
        state->TailCallCount = 0;
        state->Cancellable = watched;
        state->Observer = 0;
        state->HelperPc = 0;
        state->CallbackDepth = 0;
        state->LeasedProgram = leased ? runId : 0;
    }

    /// <summary>
    /// Writes what changes from run to run into the run state: the input, the metadata, r1/r2 (the context), the
    /// budget and the environment's region table (which it replaces when its regions change); returns the table (the
    /// caller keeps it alive for the run).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal MemoryRegion[] PrepareRun(RunState* state, byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        state->BudgetRemaining = budget;
        var regions = Environment.GetPinnedRegions();
        var table = (MemoryRegion*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(regions));
        if (state->Regions != table || state->RegionCount != regions.Length)
        {
            // Stores cost more than loads on the run path: the table is written only when it changed (a thread's state
            // keeps it between runs).
            state->Regions = table;
            state->RegionCount = regions.Length;
        }

        ulong input = memoryLength != 0 ? (ulong)memory : 0;
        state->InputAddress = input;
        state->InputLength = memoryLength;
        if (metadataLength != 0)
        {
            state->MetadataAddress = (ulong)metadata;
            state->MetadataLength = metadataLength;
            state->ContextAddress = (ulong)metadata;
            state->ContextLength = metadataLength;
        }
        else
        {
            if ((state->MetadataAddress | state->MetadataLength) != 0)
            {
                state->MetadataAddress = 0;
                state->MetadataLength = 0;
            }

            state->ContextAddress = input;
            state->ContextLength = memoryLength;
        }

        return regions;
    }

    /// <summary>
    /// Takes the run lease (or, for an engine without leases, checks the program is not disposed). The lease is this
    /// thread's next <see cref="RunSlots"/> slot (no atomic instruction) when one is free, else a counted lease; returns
    /// the slots in the first case, null otherwise. <paramref name="stack"/>: this thread's stack area when the run uses
    /// it (its slots save a thread-static lookup), else null.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RunSlots? Enter(RunStack? stack)
    {
        if (!leased)
        {
            if (Volatile.Read(ref disposed) != 0)
            {
                ThrowDisposed();
            }

            return null;
        }

        var slots = stack?.Slots ?? RunSlots.Current;
        if (slots.TryEnter(runId))
        {
            // Read after the slot's store (see RunSlots: Dispose's process-wide barrier orders the pair).
            if (Volatile.Read(ref disposed) != 0)
            {
                slots.Exit();
                ReleaseIfUnused();
                ThrowDisposed();
            }

            return slots;
        }

        if (!TryBeginRun())
        {
            ThrowDisposed();
        }

        return null;
    }

    /// <summary>Throws the <see cref="ObjectDisposedException"/> of a run of this disposed program.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected void ThrowDisposed() => throw new ObjectDisposedException(GetType().FullName);

    /// <summary>Ends what <see cref="Enter"/> began, and a tail call still pending when the run failed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Leave(ref RunState state, RunSlots? slots)
    {
        if (state.TailCallTarget != 0)
        {
            ReleasePendingTailCall(ref state);
        }

        if (slots is not null)
        {
            slots.Exit();
            if (Volatile.Read(ref disposed) != 0)
            {
                // Disposed during the run: the last lease out releases the resources.
                ReleaseIfUnused();
            }
        }
        else if (leased)
        {
            EndRun();
        }
    }

    /// <summary>Releases the target of a tail call that was requested but never entered (the run failed first).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReleasePendingTailCall(ref RunState state)
    {
        var pending = PendingTailCalls.Current;
        var target = pending.Take((nint)Unsafe.AsPointer(ref state), out bool slotted);
        state.TailCallTarget = 0;
        target.EndTailCall(pending.Slots, slotted, underTop: false);
    }

    /// <summary>
    /// Carries out the tail calls a run requested, one after the other (each through <see cref="RunTailCall"/>: a stack
    /// area zeroed again, the rest of the budget). Returns the last program's r0. The target and its lease were taken
    /// by <see cref="HelperContext.TailCall"/> (<see cref="PendingTailCalls"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected static ulong ContinueTailCalls(ref RunState state, ulong r0)
    {
        var pending = PendingTailCalls.Current;
        nint self = (nint)Unsafe.AsPointer(ref state);
        while (state.TailCallTarget != 0)
        {
            var target = pending.Take(self, out bool slotted);
            state.TailCallTarget = 0;
            state.StopRequested = 0;
            r0 = RunTailCall(ref state, target, pending.Slots, slotted, pending);
        }

        return r0;
    }

    /// <summary>
    /// Takes the run lease of a tail call into this program (<see cref="HelperContext.TailCall"/>): a slot of this
    /// thread (<paramref name="slots"/>, the calling thread's; <paramref name="slotted"/>) when one is free, else a
    /// counted lease; none for an engine without leases. False once the program has been disposed (the tail call then
    /// falls through).
    /// </summary>
    internal bool TryEnterTailCall(RunSlots slots, out bool slotted)
    {
        slotted = false;
        if (!leased)
        {
            return !IsDisposed;
        }

        if (!slots.TryEnter(runId))
        {
            return TryBeginRun();
        }

        // Read after the slot's store, as for a run (see Enter).
        if (Volatile.Read(ref disposed) != 0)
        {
            slots.Exit();
            ReleaseIfUnused();
            return false;
        }

        slotted = true;
        return true;
    }

    /// <summary>
    /// Ends the lease <see cref="TryEnterTailCall"/> took. A slot is the top one of <paramref name="slots"/> (this
    /// thread's), or, when <paramref name="underTop"/>, the one under it (the program asked for a tail call whose lease
    /// took the top slot: that one moves down into this one's place).
    /// </summary>
    private void EndTailCall(RunSlots slots, bool slotted, bool underTop)
    {
        if (!slotted)
        {
            EndRun();
            return;
        }

        if (underTop)
        {
            slots.ExitUnderTop();
        }
        else
        {
            slots.Exit();
        }

        if (Volatile.Read(ref disposed) != 0)
        {
            // Disposed during the tail call: the last lease out releases the resources.
            ReleaseIfUnused();
        }
    }

    /// <summary>
    /// Runs like <see cref="Run(Span{byte}, Span{byte})"/> with <paramref name="observer"/> recorded in the run state
    /// (<see cref="RunState.Observer"/>) for an engine that supports observation; see <see cref="IObservableProgram"/>.
    /// <see cref="ExecutionOptions.Timeout"/> does not apply: an observer such as a debugger may pause the run for as
    /// long as it likes (the instruction budget still does).
    /// </summary>
    protected ulong RunObserved(Span<byte> memory, Span<byte> metadata, IInstructionObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        RequireRawEntry();
        fixed (byte* m = memory)
        fixed (byte* md = metadata)
        {
            return RunCore(m, (ulong)memory.Length, md, (ulong)metadata.Length, observer, default);
        }
    }

    /// <summary>
    /// The run with everything that may be attached: a token, a timeout, an observer, the run metrics, a nested run
    /// (this thread's stack area is in use) or a stack area too large to keep per thread. A run on the thread's stack
    /// area uses the thread's run state, which the <see cref="RunWatchdog"/> watches; another run (nested, or on a
    /// stack of its own) gets a per-run timer for <see cref="ExecutionOptions.RunTimeLimit"/> instead. An observed run
    /// has neither (nor its <see cref="ExecutionOptions.Timeout"/>): an observer such as a debugger may pause it.
    /// </summary>
    [SkipLocalsInit]
    private ulong RunCore(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, IInstructionObserver? observer, CancellationToken cancellationToken)
    {
        if (brief && cancellationToken.IsCancellationRequested)
        {
            RefuseCancelled(cancellationToken);
        }

        var shared = RunStack.Take(StackBytes);
        byte[]? heapStack = null;
        byte* stackEnd;
        if (shared is not null)
        {
            stackEnd = shared.End;
        }
        else if (StackBytes <= RunStack.MaxCachedBytes)
        {
            byte* s = stackalloc byte[StackBytes];
            new Span<byte>(s, StackBytes).Clear();
            stackEnd = s + StackBytes;
        }
        else
        {
            heapStack = GC.AllocateArray<byte>(StackBytes, pinned: true);
            stackEnd = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(heapStack)) + StackBytes;
        }

        RunState own = default;
        RunState* state = shared is not null ? shared.State : &own;
        var regions = Prepare(state, memory, memoryLength, metadata, metadataLength, stackEnd);
        if (shared is not null)
        {
            // This run may leave other values in the thread's state (observer, how it can be stopped, what it changed):
            // the next plain run writes them all again.
            shared.PreparedFor = 0;
        }

        TimeSpan? timeout = null, standIn = null;
        if (observer is null)
        {
            timeout = Options.Timeout;
            if (shared is null && Options.EffectiveRunTimeLimit is { } limit && (timeout is null || limit < timeout))
            {
                // The watchdog sees only the threads' own run states: a per-run timer stands in for it.
                standIn = limit;
            }
        }
        else
        {
            state->WatchLimit = 0;
            state->Cancellable = 0;
        }

        var slots = Enter(shared);
        long watch = shared is not null ? shared.BeginWatch() : 0;

        var observerHandle = observer is null ? default : GCHandle.Alloc(observer);
        if (observer is not null)
        {
            // An observer may write anywhere in the stack area (InstructionStep.WriteMemory).
            state->Observer = GCHandle.ToIntPtr(observerHandle);
            state->DirtyStackBytes = StackBytes;
        }

        long started = EbpfTelemetry.RunsObserved ? Stopwatch.GetTimestamp() : 0;
        CancellationTokenSource? timer = null;
        CancellationTokenRegistration byToken = default, byTimer = default;
        if ((standIn ?? timeout) is { } timerLimit)
        {
            timer = idleTimer ?? new CancellationTokenSource();
            idleTimer = null;
            timer.CancelAfter(timerLimit);
        }

        if (cancellationToken.CanBeCanceled || timer is not null)
        {
            state->Cancellable = FromOutside;
            object flag = (nint)(&state->CancelRequested);
            byToken = cancellationToken.UnsafeRegister(RequestStop, flag);
            byTimer = timer?.Token.UnsafeRegister(RequestStop, flag) ?? default;
        }

        try
        {
            ulong r0 = Execute(ref *state);
            if (state->TailCallTarget != 0)
            {
                r0 = ContinueTailCalls(ref *state, r0);
            }

            if (started != 0)
            {
                EbpfTelemetry.RunCompleted(EngineName, started);
            }

            return r0;
        }
        catch (EbpfRunCancelledException e) when (IsIncomplete(e))
        {
            var completed = cancellationToken.IsCancellationRequested
                ? new EbpfRunCancelledException(e.Pc, e.Instruction, null, cancellationToken)
                : timer is { IsCancellationRequested: true } && standIn is null
                    ? new EbpfRunCancelledException(e.Pc, e.Instruction, timeout, cancellationToken)
                    : RunTimeLimitPassed(e, cancellationToken);
            EbpfTelemetry.RunFailed(EngineName, completed, started);
            throw completed;
        }
        catch (EbpfRuntimeException e) when (EbpfTelemetry.RunFailed(EngineName, e, started))
        {
            throw; // not reached: the filter records the failure and lets it pass
        }
        finally
        {
            if (observerHandle.IsAllocated)
            {
                observerHandle.Free();
            }

            // Dispose waits for a callback that is running, so none writes to the run state after it returns.
            byToken.Dispose();
            byTimer.Dispose();
            if (timer is not null)
            {
                if (timer.TryReset())
                {
                    idleTimer = timer;
                }
                else
                {
                    timer.Dispose();
                }
            }

            if (shared is not null)
            {
                RunStack.Clear(stackEnd, state->DirtyStackBytes);
                shared.EndWatch(watch);
            }

            Leave(ref *state, slots);
            GC.KeepAlive(regions);
            GC.KeepAlive(heapStack);
        }
    }

    /// <summary>
    /// Refuses to start a run of a <see cref="brief"/> program whose token is already cancelled: such code has no point
    /// where an engine polls for a stop, so the token is honoured here, at pc 0, before the first instruction (a disposed
    /// program throws <see cref="ObjectDisposedException"/> first, as every run does).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefuseCancelled(CancellationToken cancellationToken)
    {
        if (IsDisposed)
        {
            ThrowDisposed();
        }

        long started = EbpfTelemetry.RunsObserved ? Stopwatch.GetTimestamp() : 0;
        var refused = new EbpfRunCancelledException(0, Program.Instructions[0], null, cancellationToken);
        EbpfTelemetry.RunFailed(EngineName, refused, started);
        throw refused;
    }

    private static void RequestStop(object? flag) => Volatile.Write(ref *(int*)(nint)flag!, 1);

    /// <summary>
    /// Runs the program with the prepared state: r1 = <see cref="RunState.ContextAddress"/>,
    /// r2 = <see cref="RunState.ContextLength"/>, r10 = <see cref="RunState.StackEnd"/>. Returns r0, or throws an
    /// <see cref="EbpfRuntimeException"/>. When a helper sets <see cref="RunState.StopRequested"/>, the engine ends the
    /// run right after that helper returns, with r0 = <see cref="RunState.StopValue"/>.
    /// </summary>
    private protected abstract ulong Execute(ref RunState state);

    /// <summary>
    /// Runs function <paramref name="function"/> (a callback, see <see cref="EbpfProgram.IsCallback"/>) for a helper of a
    /// run in progress: r1-r5 = the arguments, r0 and r6-r9 zero, r10 = <paramref name="frameTop"/> (one past its frame,
    /// which the caller checked fits in the stack area), the budget in <see cref="RunState.BudgetRemaining"/> (written back
    /// when it returns). Returns r0; when a helper inside stops the run, returns at once with
    /// <see cref="RunState.StopValue"/> (the flag stays set for the outer code). Errors are thrown as from a run.
    /// </summary>
    private protected abstract ulong ExecuteCallback(ref RunState state, int function, ulong frameTop, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5);

    /// <summary>
    /// Runs the engine's code alone on a state prepared for this program (no lease, no watch word, no stack clearing):
    /// the per-run floor breakdown of <c>Ebpf.Bench --floor-layers</c> times this layer of the run path by itself.
    /// </summary>
    internal ulong ExecutePrepared(ref RunState state) => Execute(ref state);

    /// <summary>Runs a callback for <see cref="HelperContext.CallFunction"/> (see <see cref="ExecuteCallback(ref RunState, int, ulong, ulong, ulong, ulong, ulong, ulong)"/>).</summary>
    internal ulong RunCallback(ref RunState state, int function, ulong frameTop, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5) =>
        ExecuteCallback(ref state, function, frameTop, a1, a2, a3, a4, a5);

    /// <summary>
    /// Takes a run lease for a run of this program or a tail call into it: false once the program has been disposed (a
    /// run then throws <see cref="ObjectDisposedException"/>; a tail call behaves as into an empty slot). While a lease
    /// is held, <see cref="Dispose()"/> marks the program disposed but defers releasing the engine's resources (e.g.
    /// unmapping machine code) until the lease ends, so a disposal on another thread never pulls the code from under a
    /// running thread.
    /// </summary>
    internal bool TryBeginRun()
    {
        if (!leased)
        {
            return !IsDisposed;
        }

        // One atomic increment, then a look at the disposed flag: Dispose sets the flag before it drops the owner's
        // reference, so a lease that sees no flag was taken before that drop and keeps the count above zero.
        Interlocked.Increment(ref leases);
        if (IsDisposed)
        {
            EndRun();
            return false;
        }

        return true;
    }

    /// <summary>Ends a lease from <see cref="TryBeginRun"/> (or the owner's own reference, at disposal).</summary>
    internal void EndRun()
    {
        if (leased && Interlocked.Decrement(ref leases) == 0)
        {
            ReleaseIfUnused();
        }
    }

    /// <summary>
    /// Releases the resources of a disposed program once no counted lease and no thread's <see cref="RunSlots"/> slot
    /// holds it. Called by whoever may have ended the last lease: the counted lease that reached zero, or a slotted run
    /// that left after <see cref="Dispose()"/>. Each caller writes before it reads (a decrement, or a slot store then a
    /// fence), so of two concurrent last leases at least one sees the other gone.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseIfUnused()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref leases) == 0 && !RunSlots.Holds(runId))
        {
            Release();
        }
    }

    /// <summary>Releases the engine's resources, once.</summary>
    private void Release()
    {
        if (Interlocked.Exchange(ref released, 1) == 0)
        {
            Dispose(true);
        }
    }

    /// <summary>
    /// Calls a helper the way every engine must: the helper gets a <see cref="HelperContext"/>; an
    /// <see cref="EbpfRuntimeException"/> it raises (e.g. a bad pointer argument) passes through; any other exception
    /// becomes an <see cref="EbpfHelperException"/> at <paramref name="pc"/>. A run cancelled during the call stops
    /// when it returns. <paramref name="running"/>: the compiled program whose code makes the call, which a helper that
    /// calls back (<see cref="HelperSignature.CallsBack"/>) runs callbacks of; the engine hands such a helper the budget
    /// in <see cref="RunState.BudgetRemaining"/> and takes it back afterwards.
    /// </summary>
    internal static ulong InvokeHelper(
        Helper helper, RunState* state, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options,
        int pc, ulong stackLow, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5, CompiledProgram? running = null)
    {
        try
        {
            // An rbpf-style helper is called directly, without the context-taking wrapper made at its registration. A
            // helper that calls back gets the running program (the engines hand it the budget: see HelperSignature.CallsBack).
            var callbacks = helper.CallsBack ? running : null;
            ulong result = helper.Simple is { } simple
                ? simple(a1, a2, a3, a4, a5)
                : helper.Function(new HelperContext(state, program, environment, pc, stackLow, options.HelperArgumentChecks, callbacks, options.EntryContext), a1, a2, a3, a4, a5);
            if (Volatile.Read(ref state->CancelRequested) != 0)
            {
                // A loop around a slow helper may run few instructions: it stops here rather than at a later check.
                throw CancelledAt(program, pc, ref *state);
            }

            return result;
        }
        catch (Exception e) when (e is not EbpfRuntimeException)
        {
            throw HelperFailure(program, pc, helper, e);
        }
    }

    /// <summary>
    /// The error of <paramref name="helper"/>, called at <paramref name="pc"/>, that threw <paramref name="error"/> (not an
    /// <see cref="EbpfRuntimeException"/>, which passes through): what every engine's helper call makes of it.
    /// </summary>
    internal static EbpfHelperException HelperFailure(EbpfProgram program, int pc, Helper helper, Exception error) =>
        new(pc, program.Instructions[pc], helper.Id, helper.Name, error);

    /// <summary>
    /// Releases what the engine holds; further runs throw <see cref="ObjectDisposedException"/>, and a program array
    /// slot that holds this program behaves as empty (a tail call into it falls through). Runs and tail calls already
    /// running this program on other threads finish first: the resources are released when the last one ends.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            GC.SuppressFinalize(this);
            OnDisposing();
            if (leased)
            {
                // Every run that published its slot before this barrier is visible to the scans that follow; every run
                // after it sees the disposed flag and leaves without running (see RunSlots).
                Interlocked.MemoryBarrierProcessWide();
                EndRun();
            }
            else
            {
                Release();
            }
        }
    }

    /// <summary>True once <see cref="Dispose()"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>True once the engine's resources have been released: disposed, and no run or tail call holds a lease.</summary>
    internal bool IsReleased => Volatile.Read(ref released) != 0;

    /// <summary>Releases engine resources. Called once, when the program is disposed and no run or tail call runs it.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>
    /// Called once by <see cref="Dispose()"/> right after the disposed flag is set, before the barrier and any release:
    /// an engine whose code reads a copy of the flag (x64's machine-code tail calls, see <see cref="TailCallDescriptor"/>)
    /// sets that copy here.
    /// </summary>
    private protected virtual void OnDisposing()
    {
    }

    /// <summary>
    /// For an engine whose machine code a tail call can enter by a jump (x64): the address of this program's tail-call
    /// descriptor in native memory, which a program array publishes in its table of entries
    /// (<see cref="Helpers.TailCallTargets.Table"/>); 0 when the program cannot be entered that way.
    /// </summary>
    internal virtual nint TailCallDescriptor => 0;
}
