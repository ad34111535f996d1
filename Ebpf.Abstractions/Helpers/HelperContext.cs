using Ebpf.Execution;

namespace Ebpf.Helpers;

/// <summary>
/// What a helper can do with the run that called it: read and write program memory through the run's regions,
/// end the run, or continue it with another program (tail call). Valid only during the helper call.
/// </summary>
public readonly unsafe ref struct HelperContext
{
    private readonly RunState* state;
    private readonly ulong stackLow;
    private readonly CompiledProgram? callbacks;

    /// <summary>The context layout the running program was compiled for (<see cref="ExecutionOptions.EntryContext"/>).</summary>
    private readonly Analysis.ContextLayout? entryContext;

    /// <summary>Creates a context. Engines call this; helpers receive it.</summary>
    /// <param name="state">The run state (on the stack of the run).</param>
    /// <param name="program">The running program.</param>
    /// <param name="environment">The program's environment.</param>
    /// <param name="pc">The slot of the call instruction.</param>
    /// <param name="stackLow">The lowest byte of the calling frame.</param>
    /// <param name="checkArguments">Whether memory requests are checked against the regions.</param>
    /// <param name="callbacks">The running compiled program when the helper may call program functions back (its
    /// signature has a <see cref="HelperArgumentKind.Function"/> argument, so the engine handed it the budget), else null.</param>
    /// <param name="entryContext">The context layout the running program was compiled for (<see cref="ExecutionOptions.EntryContext"/>).</param>
    internal HelperContext(RunState* state, EbpfProgram program, ProgramEnvironment environment, int pc, ulong stackLow, bool checkArguments, CompiledProgram? callbacks = null, Analysis.ContextLayout? entryContext = null)
    {
        this.state = state;
        this.stackLow = stackLow;
        this.callbacks = callbacks;
        this.entryContext = entryContext;
        Program = program;
        Environment = environment;
        Pc = pc;
        ChecksArguments = checkArguments;
    }

    /// <summary>The running program.</summary>
    public EbpfProgram Program { get; }

    /// <summary>The environment the program was compiled with (helpers, maps, regions).</summary>
    public ProgramEnvironment Environment { get; }

    /// <summary>The slot of the call instruction.</summary>
    public int Pc { get; }

    /// <summary>Whether memory requests are checked (see <see cref="ExecutionOptions.HelperArgumentChecks"/>).</summary>
    public bool ChecksArguments { get; }

    /// <summary>The input (packet) memory of the run as an address and a length.</summary>
    public (ulong Address, ulong Length) Input => (state->InputAddress, state->InputLength);

    /// <summary>
    /// The program memory <c>[address, address + length)</c> as a span, after checking that it lies inside the
    /// run's regions (writes: writable ones).
    /// </summary>
    /// <exception cref="EbpfMemoryAccessException">The range is not entirely inside one region.</exception>
    public Span<byte> GetMemory(ulong address, ulong length, MemoryAccessKind access)
    {
        if (length == 0)
        {
            return Span<byte>.Empty;
        }

        if (length > int.MaxValue
            || (ChecksArguments && !MemoryGuard.IsAllowed(ref *state, address, length, access, stackLow)))
        {
            throw MemoryGuard.Violation(Program, Pc, ref *state, address, length, access, stackLow);
        }

        return new Span<byte>((void*)address, (int)length);
    }

    /// <summary>Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes starting at <paramref name="address"/>, checking each byte.</summary>
    /// <exception cref="EbpfMemoryAccessException">The string runs outside the regions before its NUL.</exception>
    public ReadOnlySpan<byte> ReadCString(ulong address, int maxLength)
    {
        for (int n = 0; n < maxLength; n++)
        {
            if (GetMemory(address + (ulong)n, 1, MemoryAccessKind.Read)[0] == 0)
            {
                return GetMemory(address, (ulong)n, MemoryAccessKind.Read);
            }
        }

        return GetMemory(address, (ulong)maxLength, MemoryAccessKind.Read);
    }

    /// <summary>Ends the whole run when the helper returns; r0 becomes <paramref name="returnValue"/>.</summary>
    public void Stop(ulong returnValue)
    {
        state->StopRequested = 1;
        state->StopValue = returnValue;
    }

    /// <summary>
    /// True once the run was asked to end (a helper called <see cref="Stop"/> or requested a tail call, possibly inside a
    /// callback): a helper that calls program functions in a loop stops calling them and returns at once.
    /// </summary>
    public bool IsStopping => state->StopRequested != 0;

    /// <summary>
    /// Calls a function of the running program as a callback, as <c>bpf_loop</c> and <c>bpf_for_each_map_elem</c> do:
    /// <paramref name="function"/> is the value the program loaded with an <c>lddw</c> of the code-address source
    /// (<c>src=4</c>); the function runs with r1-r5 set to the arguments, r0 and r6-r9 zero, and a fresh stack frame
    /// below the calling frame (it counts toward <see cref="ExecutionOptions.MaxCallDepth"/> as a local call does), on the
    /// run's instruction budget, stop requests and cancellation, with the same memory checks. Returns its r0. A tail call
    /// inside a callback fails (the callback goes on after it, as after an empty slot). When the callback (or a helper it
    /// calls) ends the run, <see cref="IsStopping"/> becomes true and the value returned is the run's result.
    /// </summary>
    /// <exception cref="InvalidOperationException">The helper's signature has no <see cref="HelperArgumentKind.Function"/>
    /// argument (only such helpers run with the budget handed over), or <paramref name="function"/> names no callback of
    /// the running program (both end the run with an <see cref="EbpfHelperException"/>).</exception>
    /// <exception cref="EbpfCallDepthExceededException">The callback's frame would exceed the call depth.</exception>
    /// <exception cref="EbpfRuntimeException">The callback failed (memory violation, budget, cancellation...): the run ends with that error.</exception>
    public ulong CallFunction(ulong function, ulong arg1, ulong arg2, ulong arg3, ulong arg4, ulong arg5)
    {
        var callee = Callback(function, out int index);
        state->CallbackDepth++;
        try
        {
            return callee.RunCallback(ref *state, index, stackLow, arg1, arg2, arg3, arg4, arg5);
        }
        finally
        {
            state->CallbackDepth--;
        }
    }

    /// <summary>
    /// <c>bpf_loop</c>'s calls: <see cref="CallFunction"/> with r1 = the index and r2 = <paramref name="data"/> for the
    /// indexes 0, 1, ... until the callback returns nonzero or <paramref name="count"/> calls were made. Returns the
    /// number of calls made; when the callback (or a helper it calls) ends the run, <see cref="IsStopping"/> becomes true
    /// and the value returned is the run's result. The function, its frame and the call depth are checked once, and the
    /// engine enters the callback from its own loop (its state for the callback set up once); a stop request from
    /// outside is still seen between two calls. Nothing is checked or called when <paramref name="count"/> is 0.
    /// </summary>
    /// <exception cref="InvalidOperationException">As for <see cref="CallFunction"/>.</exception>
    /// <exception cref="EbpfCallDepthExceededException">The callback's frame would exceed the call depth.</exception>
    /// <exception cref="EbpfRuntimeException">A call failed (memory violation, budget, cancellation...): the run ends with that error.</exception>
    internal ulong CallFunctionLoop(ulong function, uint count, ulong data)
    {
        if (count == 0)
        {
            return 0;
        }

        var callee = Callback(function, out int index);
        state->CallbackDepth++;
        try
        {
            return callee.RunCallbackLoop(ref *state, index, stackLow, count, data, Pc);
        }
        finally
        {
            state->CallbackDepth--;
        }
    }

    /// <summary>
    /// The checks before a callback (see <see cref="CallFunction"/>): the helper may call back, <paramref name="function"/>
    /// names a callback of the running program (<paramref name="index"/>), the run was not asked to stop, and a frame
    /// below the calling one fits in the stack area. Returns the compiled program that runs the callback.
    /// </summary>
    private CompiledProgram Callback(ulong function, out int index)
    {
        if (callbacks is null)
        {
            throw new InvalidOperationException("only a helper whose signature declares a function argument (HelperArgumentKind.Function) can call program functions");
        }

        if (!FunctionPointer.TryDecode(function, Program, out index))
        {
            throw new InvalidOperationException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"0x{function:x} is not the address of a callback of this program (an lddw with src=4 loads one)"));
        }

        CompiledProgram.ThrowIfCancelRequested(Program, ref *state, Pc);
        ulong frameSize = (ulong)callbacks.Options.StackSize;
        if (stackLow - state->StackStart < frameSize)
        {
            throw new EbpfCallDepthExceededException(Pc, Program.Instructions[Pc], callbacks.Options.MaxCallDepth);
        }

        return callbacks;
    }

    /// <summary>True while the helper was called from a callback (see <see cref="CallFunction"/>), at any depth.</summary>
    public bool InCallback => state->CallbackDepth != 0;

    /// <summary>
    /// True when <paramref name="address"/> points into the run's stack area, its top (r10 of the entry function) included:
    /// what the kernel's verifier calls a stack pointer (<c>fp</c>).
    /// </summary>
    public bool IsStackPointer(ulong address) => address - state->StackStart <= state->StackEnd - state->StackStart;

    /// <summary>The number of tail calls the run has made so far.</summary>
    public int TailCallCount => state->TailCallCount;

    /// <summary>
    /// Ends the current program when the helper returns and continues the run with <paramref name="target"/>, given
    /// the same context (r1), a fresh stack and the rest of the run's instruction budget. Returns false, changing
    /// nothing, when the target cannot be entered: it has been disposed (kernel-like: as for an empty slot, the caller
    /// goes on after the call), or it does not come from an engine of this library (a tail call continues this run's
    /// state, which only <see cref="CompiledProgram"/> can share), or this helper call already requested a tail call, or
    /// the call comes from a callback (see <see cref="CallFunction"/>), or the target was compiled for another context
    /// than the running program (a kernel program's target must be a program of its type, which relies on the context
    /// its runs get; a program compiled for raw memory is not entered from one, nor the other way round).
    /// </summary>
    /// <param name="target">The program to continue with.</param>
    public bool TailCall(ICompiledProgram target)
    {
        if (state->TailCallTarget != 0 || state->CallbackDepth != 0 || target is not CompiledProgram program
            || !ReferenceEquals(program.Options.EntryContext, entryContext))
        {
            return false;
        }

        var pending = PendingTailCalls.Current;
        if (!program.TryEnterTailCall(pending.Slots, out bool slotted))
        {
            return false;
        }

        pending.Add((nint)state, program, slotted);
        state->TailCallTarget = 1;
        state->TailCallCount++;
        state->StopRequested = 1;
        state->StopValue = 0;
        return true;
    }
}
