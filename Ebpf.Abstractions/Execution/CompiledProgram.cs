using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Helpers;

namespace Ebpf.Execution;

/// <summary>
/// The shared half of every engine's compiled program: it pins the memory, sets up the stack and the
/// <see cref="RunState"/>, runs the engine's <see cref="Execute"/>, and carries out tail calls. Engines derive from it
/// so that the calling convention and the region rules are the same everywhere.
/// </summary>
public abstract unsafe class CompiledProgram : ICompiledProgram
{
    /// <summary>Stacks up to this size are allocated on the thread's stack; larger ones on the pinned heap.</summary>
    private const int MaxStackAlloc = 64 * 1024;

    /// <summary>Set in <see cref="runs"/> once <see cref="Dispose()"/> was called.</summary>
    private const int DisposeRequested = 1 << 30;

    /// <summary>
    /// The number of runs (and tail calls) executing this program right now, plus <see cref="DisposeRequested"/> once
    /// disposed. Dispose releases the engine's resources (the x64 engine's code mapping) only when no run is inside,
    /// otherwise the last run to leave does: machine code is never unmapped under a running thread.
    /// </summary>
    private int runs;

    /// <summary>Initialises the shared part.</summary>
    protected CompiledProgram(string engineName, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
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

    /// <summary>
    /// True once <see cref="Dispose()"/> was called. Runs that started before may still be executing: the engine's
    /// <see cref="Dispose(bool)"/> is called only after the last of them ended.
    /// </summary>
    protected bool IsDisposed => (Volatile.Read(ref runs) & DisposeRequested) != 0;

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

    /// <summary>
    /// Runs on unmanaged memory. With metadata: r1 = metadata, r2 = its length; without: r1 = memory, r2 = its length.
    /// The caller guarantees both ranges stay valid for the run.
    /// </summary>
    [SkipLocalsInit]
    public ulong Run(byte* memory, ulong memoryLength, byte* metadata, ulong metadataLength)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
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
        EnterRun();
        try
        {
            new Span<byte>(stack, StackBytes).Clear();
            ulong r0 = Execute(ref state);
            while (state.TailCallTarget != 0)
            {
                var target = GCHandle.FromIntPtr(state.TailCallTarget).Target as CompiledProgram
                    ?? throw new InvalidOperationException("tail call target is not a compiled program");
                state.TailCallTarget = 0;
                state.StopRequested = 0;
                new Span<byte>(stack, StackBytes).Clear();
                r0 = target.ExecuteTailCall(ref state);
            }

            return r0;
        }
        finally
        {
            GC.KeepAlive(regions);
            GC.KeepAlive(heapStack);
            ExitRun();
        }
    }

    /// <summary>
    /// Runs the program with the prepared state: r1 = <see cref="RunState.ContextAddress"/>,
    /// r2 = <see cref="RunState.ContextLength"/>, r10 = <see cref="RunState.StackEnd"/>. Returns r0, or throws an
    /// <see cref="EbpfRuntimeException"/>. When a helper sets <see cref="RunState.StopRequested"/>, the engine ends the
    /// run right after that helper returns, with r0 = <see cref="RunState.StopValue"/>.
    /// </summary>
    protected abstract ulong Execute(ref RunState state);

    /// <summary>Continues a run with this program after another program's tail call.</summary>
    private ulong ExecuteTailCall(ref RunState state)
    {
        EnterRun();
        try
        {
            return Execute(ref state);
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>Counts a run in; throws once the program is disposed.</summary>
    /// <exception cref="ObjectDisposedException">Dispose was called.</exception>
    private void EnterRun()
    {
        while (true)
        {
            int current = Volatile.Read(ref runs);
            ObjectDisposedException.ThrowIf((current & DisposeRequested) != 0, this);
            if (Interlocked.CompareExchange(ref runs, current + 1, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Counts a run out; the last run out of a disposed program releases it.</summary>
    private void ExitRun()
    {
        if (Interlocked.Decrement(ref runs) == DisposeRequested)
        {
            Release();
        }
    }

    private void Release()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Calls a helper the way every engine must: the helper gets a <see cref="HelperContext"/>; an
    /// <see cref="EbpfRuntimeException"/> it raises (e.g. a bad pointer argument) passes through; any other exception
    /// becomes an <see cref="EbpfHelperException"/> at <paramref name="pc"/>.
    /// </summary>
    public static ulong InvokeHelper(
        Helper helper, RunState* state, EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options,
        int pc, ulong stackLow, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        try
        {
            return helper.Function(new HelperContext(state, program, environment, pc, stackLow, options.HelperArgumentChecks), a1, a2, a3, a4, a5);
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
    /// Releases what the engine holds; further runs throw <see cref="ObjectDisposedException"/>. Safe while other
    /// threads run the program: their runs finish normally and the last one releases the resources.
    /// </summary>
    public void Dispose()
    {
        while (true)
        {
            int current = Volatile.Read(ref runs);
            if ((current & DisposeRequested) != 0)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref runs, current | DisposeRequested, current) == current)
            {
                if (current == 0)
                {
                    Release();
                }

                return;
            }
        }
    }

    /// <summary>
    /// Releases engine resources. Called once: by <see cref="Dispose()"/>, or by the last run still executing when it
    /// was called, or (with <paramref name="disposing"/> false) by a finalizer.
    /// </summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
