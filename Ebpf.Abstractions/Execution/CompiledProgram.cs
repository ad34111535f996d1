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
public abstract unsafe class CompiledProgram : ICompiledProgram
{
    /// <summary>Stacks up to this size are allocated on the thread's stack; larger ones on the pinned heap.</summary>
    private const int MaxStackAlloc = 64 * 1024;

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
    /// The owner's reference (1 until disposed) plus one per run in flight: each direct run and each tail call into this
    /// program holds a lease, so the engine's resources (the x64 engine's code mapping) are released only after the last
    /// of them ends: machine code is never unmapped under a running thread.
    /// </summary>
    private int leases = 1;

    /// <summary>Initialises the shared part.</summary>
    private protected CompiledProgram(string engineName, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        EngineName = engineName;
        Program = program;
        Environment = environment;
        Options = options.Validate();
        StackBytes = options.StackSize * options.MaxCallDepth;
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
    public ulong Run() => Run(null, 0, null, 0);

    /// <inheritdoc />
    public ulong Run(Span<byte> memory)
    {
        fixed (byte* m = memory)
        {
            return Run(m, (ulong)memory.Length, null, 0);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, Span<byte> metadata)
    {
        fixed (byte* m = memory)
        fixed (byte* md = metadata)
        {
            return Run(m, (ulong)memory.Length, md, (ulong)metadata.Length);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, CancellationToken cancellationToken)
    {
        fixed (byte* m = memory)
        {
            return Run(m, (ulong)memory.Length, null, 0, cancellationToken);
        }
    }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellationToken)
    {
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
    internal ulong Run(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, CancellationToken cancellationToken)
    {
        var timeout = Options.Timeout;
        if (!cancellationToken.CanBeCanceled && timeout is null)
        {
            return Run(memory, memoryLength, metadata, metadataLength);
        }

        return RunCancellable(memory, memoryLength, metadata, metadataLength, timeout, cancellationToken);
    }

    /// <summary>
    /// The error an engine throws when it sees <see cref="RunState.CancelRequested"/> at <paramref name="pc"/>; the
    /// shared run code completes it with the token or the timeout.
    /// </summary>
    internal static EbpfRunCancelledException CancelledAt(EbpfProgram program, int pc)
    {
        ArgumentNullException.ThrowIfNull(program);
        return new EbpfRunCancelledException(pc, program.Instructions[pc], null, default);
    }

    /// <summary>
    /// Runs on unmanaged memory. With metadata: r1 = metadata, r2 = its length; without: r1 = memory, r2 = its length.
    /// The caller guarantees both ranges stay valid for the run.
    /// </summary>
    internal ulong Run(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        var timeout = Options.Timeout;
        return timeout is null
            ? RunCore(memory, memoryLength, metadata, metadataLength, null, null)
            : RunCancellable(memory, memoryLength, metadata, metadataLength, timeout, CancellationToken.None);
    }

    /// <summary>A run that can be stopped: a callback of the token (and of a per-thread timer for the timeout) sets
    /// <see cref="RunState.CancelRequested"/>; the engine's stop is completed here with the reason.</summary>
    private ulong RunCancellable(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        CancellationTokenSource? timer = null;
        if (timeout is { } limit)
        {
            timer = idleTimer ?? new CancellationTokenSource();
            idleTimer = null;
            timer.CancelAfter(limit);
        }

        try
        {
            return RunCore(memory, memoryLength, metadata, metadataLength, new CancellationSources(cancellationToken, timer?.Token ?? default), null);
        }
        catch (EbpfRunCancelledException e) when (e.Timeout is null && !e.CancellationToken.CanBeCanceled)
        {
            throw cancellationToken.IsCancellationRequested
                ? new EbpfRunCancelledException(e.Pc, e.Instruction, null, cancellationToken)
                : new EbpfRunCancelledException(e.Pc, e.Instruction, timeout, cancellationToken);
        }
        finally
        {
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
        fixed (byte* m = memory)
        fixed (byte* md = metadata)
        {
            return RunCore(m, (ulong)memory.Length, md, (ulong)metadata.Length, null, observer);
        }
    }

    [SkipLocalsInit]
    private ulong RunCore(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength, CancellationSources? cancellation, IInstructionObserver? observer)
    {
        RunState state = default;
        if (memoryLength != 0)
        {
            state.InputAddress = (ulong)memory;
            state.InputLength = memoryLength;
        }

        if (metadataLength != 0)
        {
            state.MetadataAddress = (ulong)metadata;
            state.MetadataLength = metadataLength;
            state.ContextAddress = state.MetadataAddress;
            state.ContextLength = metadataLength;
        }
        else
        {
            state.ContextAddress = state.InputAddress;
            state.ContextLength = state.InputLength;
        }

        state.BudgetRemaining = Options.InstructionBudget ?? long.MaxValue;
        var regions = Environment.GetPinnedRegions();
        state.Regions = (MemoryRegion*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(regions));
        state.RegionCount = regions.Length;

        byte[]? heapStack = null;
        byte* stack;
        if (StackBytes <= MaxStackAlloc)
        {
            byte* s = stackalloc byte[StackBytes];
            stack = s;
        }
        else
        {
            heapStack = GC.AllocateUninitializedArray<byte>(StackBytes, pinned: true);
            stack = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(heapStack));
        }

        state.StackStart = (ulong)stack;
        state.StackEnd = (ulong)stack + (ulong)StackBytes;
        ObjectDisposedException.ThrowIf(!TryBeginRun(), this);
        var observerHandle = observer is null ? default : GCHandle.Alloc(observer);
        state.Observer = observer is null ? 0 : GCHandle.ToIntPtr(observerHandle);
        long started = EbpfTelemetry.RunsObserved ? Stopwatch.GetTimestamp() : 0;
        CancellationTokenRegistration byToken = default, byTimer = default;
        if (cancellation is { } sources)
        {
            state.Cancellable = 1;
            object flag = (nint)(&state.CancelRequested);
            byToken = sources.Token.UnsafeRegister(RequestStop, flag);
            byTimer = sources.Timer.UnsafeRegister(RequestStop, flag);
        }

        try
        {
            new Span<byte>(stack, StackBytes).Clear();
            ulong r0 = Execute(ref state);
            while (state.TailCallTarget != 0)
            {
                // HelperContext.TailCall took a run lease on the target and a GC handle to it; both end here.
                var handle = GCHandle.FromIntPtr(state.TailCallTarget);
                var target = (CompiledProgram)handle.Target!;
                handle.Free();
                state.TailCallTarget = 0;
                state.StopRequested = 0;
                new Span<byte>(stack, StackBytes).Clear();
                try
                {
                    r0 = target.Execute(ref state);
                }
                finally
                {
                    target.EndRun();
                }
            }

            if (started != 0)
            {
                EbpfTelemetry.RunCompleted(EngineName, started);
            }

            return r0;
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

            // Dispose waits for a callback that is running, so none writes to this frame after it returns.
            byToken.Dispose();
            byTimer.Dispose();
            if (state.TailCallTarget != 0)
            {
                // A run that failed after a tail call was requested: release the pending target.
                var handle = GCHandle.FromIntPtr(state.TailCallTarget);
                var target = (CompiledProgram)handle.Target!;
                handle.Free();
                target.EndRun();
            }

            GC.KeepAlive(regions);
            GC.KeepAlive(heapStack);
            EndRun();
        }
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
    /// Takes a run lease for a run of this program or a tail call into it: false once the program has been disposed (a
    /// run then throws <see cref="ObjectDisposedException"/>; a tail call behaves as into an empty slot). While a lease
    /// is held, <see cref="Dispose()"/> marks the program disposed but defers releasing the engine's resources (e.g.
    /// unmapping machine code) until the lease ends, so a disposal on another thread never pulls the code from under a
    /// running thread.
    /// </summary>
    internal bool TryBeginRun()
    {
        while (true)
        {
            int count = Volatile.Read(ref leases);
            if (count == 0 || IsDisposed)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref leases, count + 1, count) == count)
            {
                return true;
            }
        }
    }

    /// <summary>Ends a lease from <see cref="TryBeginRun"/> (or the owner's own reference, at disposal).</summary>
    internal void EndRun()
    {
        if (Interlocked.Decrement(ref leases) == 0)
        {
            Dispose(true);
        }
    }

    /// <summary>
    /// Calls a helper the way every engine must: the helper gets a <see cref="HelperContext"/>; an
    /// <see cref="EbpfRuntimeException"/> it raises (e.g. a bad pointer argument) passes through; any other exception
    /// becomes an <see cref="EbpfHelperException"/> at <paramref name="pc"/>. A run cancelled during the call stops
    /// when it returns.
    /// </summary>
    internal static ulong InvokeHelper(
        Helper helper, RunState* state, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options,
        int pc, ulong stackLow, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        try
        {
            ulong result = helper.Function(new HelperContext(state, program, environment, pc, stackLow, options.HelperArgumentChecks), a1, a2, a3, a4, a5);
            if (Volatile.Read(ref state->CancelRequested) != 0)
            {
                // A loop around a slow helper may run few instructions: it stops here rather than at a later check.
                throw CancelledAt(program, pc);
            }

            return result;
        }
        catch (EbpfRuntimeException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new EbpfHelperException(pc, program.Instructions[pc], helper.Id, helper.Name, e);
        }
    }

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
            EndRun();
        }
    }

    /// <summary>True once <see cref="Dispose()"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>Releases engine resources. Called once, when the program is disposed and no run or tail call runs it.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
