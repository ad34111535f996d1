using Ebpf.Isa;

namespace Ebpf.Diagnostics;

/// <summary>
/// A step debugger over a program that supports observation (the interpreter's programs): breakpoints at pcs, single
/// steps, continue, and reading and writing registers and memory while paused. The run happens on a thread of the
/// session's own, which waits before each instruction the session stops at; every method is called from the
/// controlling side and returns once the run has paused again, completed or failed. Memory access goes through the
/// run's own region checks. Dispose the session to end a paused run.
/// </summary>
/// <example>
/// <code>
/// using var compiled = new InterpreterEngine().CompileObservable(program);
/// using var debugger = new EbpfDebugger(compiled);
/// debugger.AddBreakpoint(5);
/// debugger.Start(packet);            // paused before pc 0
/// debugger.Continue();               // paused before pc 5
/// debugger.SetRegister(2, 42);
/// while (debugger.Step() == DebugState.Paused) { }
/// Console.WriteLine(debugger.Result);
/// </code>
/// </example>
public sealed class EbpfDebugger : IDisposable
{
    private readonly IObservableProgram program;
    private readonly HashSet<int> breakpoints = [];
    private readonly SemaphoreSlim toRun = new(0);
    private readonly SemaphoreSlim toController = new(0);
    private readonly ulong[] registers = new ulong[InstructionStep.RegisterCount];
    private Thread? thread;
    private Func<InstructionStep, bool>? request;
    private bool requestResult;
    private bool stepping = true;
    private bool abort;
    private bool disposed;

    /// <summary>Creates a session over <paramref name="program"/>; nothing runs until <see cref="Start"/>.</summary>
    public EbpfDebugger(IObservableProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        this.program = program;
        CurrentProgram = program.Program;
    }

    /// <summary>The program the session was created with (its pcs are the ones breakpoints name).</summary>
    public EbpfProgram Program => program.Program;

    /// <summary>Where the session is.</summary>
    public DebugState State { get; private set; }

    /// <summary>The pc of the instruction the run is paused before (-1 unless <see cref="State"/> is <see cref="DebugState.Paused"/>).</summary>
    public int Pc { get; private set; } = -1;

    /// <summary>The local-call depth at the pause: 0 in the entry function.</summary>
    public int CallDepth { get; private set; }

    /// <summary>The program paused in (a tail call changes it from the one the session was created with).</summary>
    public EbpfProgram CurrentProgram { get; private set; }

    /// <summary>The instruction the run is paused before.</summary>
    /// <exception cref="EbpfDebuggerException">The session is not paused.</exception>
    public Instruction Instruction => CurrentProgram.Instructions[PausedPc()];

    /// <summary>The breakpoints: pcs of the program the session was created with.</summary>
    public IReadOnlyCollection<int> Breakpoints
    {
        get
        {
            lock (breakpoints)
            {
                return [.. breakpoints.Order()];
            }
        }
    }

    /// <summary>r0 once the run completed; otherwise null.</summary>
    public ulong? Result { get; private set; }

    /// <summary>Why the run failed, once it did (an <see cref="EbpfRuntimeException"/> for a failure of the program); otherwise null.</summary>
    public EbpfException? Error { get; private set; }

    /// <summary>The instructions the run has executed so far (counting the one it is paused before as not yet executed).</summary>
    public long InstructionsExecuted { get; private set; }

    /// <summary>Stops the run before the instruction at <paramref name="pc"/> every time it gets there.</summary>
    /// <exception cref="EbpfDebuggerException">No instruction starts at <paramref name="pc"/>.</exception>
    public void AddBreakpoint(int pc)
    {
        var entry = program.Program;
        if (pc < 0 || pc >= entry.Length || entry.IsSecondSlot(pc))
        {
            throw new EbpfDebuggerException($"no instruction starts at pc {pc} (the program has {entry.Length} slots{(pc >= 0 && pc < entry.Length ? "; it is the second slot of an lddw" : string.Empty)})");
        }

        lock (breakpoints)
        {
            breakpoints.Add(pc);
        }
    }

    /// <summary>Removes the breakpoint at <paramref name="pc"/>.</summary>
    /// <returns>True when there was one.</returns>
    public bool RemoveBreakpoint(int pc)
    {
        lock (breakpoints)
        {
            return breakpoints.Remove(pc);
        }
    }

    /// <summary>Starts the run on <paramref name="memory"/> (and <paramref name="metadata"/>, if given) and pauses before its first instruction.</summary>
    /// <param name="memory">The run's memory: r1 points at it (stores change this array).</param>
    /// <param name="metadata">rbpf's mbuff: when given, r1 points at it instead.</param>
    /// <returns>The state after the start: <see cref="DebugState.Paused"/> (or a failure before the first instruction).</returns>
    /// <exception cref="EbpfDebuggerException">The session has started already.</exception>
    public DebugState Start(byte[] memory, byte[]? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (State != DebugState.NotStarted)
        {
            throw new EbpfDebuggerException("the session has started already (create another to run again)");
        }

        thread = new Thread(() => RunThread(memory, metadata ?? [])) { IsBackground = true, Name = "ebpf debugger" };
        thread.Start();
        toController.Wait();
        return State;
    }

    /// <summary>Executes the instruction the run is paused before and pauses before the next one.</summary>
    /// <returns>The state afterwards: paused, completed or failed.</returns>
    /// <exception cref="EbpfDebuggerException">The session is not paused.</exception>
    public DebugState Step() => Resume(step: true);

    /// <summary>Runs until a breakpoint, the end of the run or a failure.</summary>
    /// <returns>The state afterwards.</returns>
    /// <exception cref="EbpfDebuggerException">The session is not paused.</exception>
    public DebugState Continue() => Resume(step: false);

    /// <summary>The registers r0 to r10 at the pause (or at the end of the run, r0 then being the result).</summary>
    public IReadOnlyList<ulong> Registers => [.. registers];

    /// <summary>The value of register <paramref name="register"/> (0 to 10) at the pause.</summary>
    /// <exception cref="EbpfDebuggerException">There is no such register.</exception>
    public ulong GetRegister(int register) => registers[CheckRegister(register)];

    /// <summary>Sets register <paramref name="register"/> (0 to 10): the instruction the run is paused before sees the new value.</summary>
    /// <exception cref="EbpfDebuggerException">The session is not paused, or there is no such register.</exception>
    public void SetRegister(int register, ulong value)
    {
        CheckRegister(register);
        Request(step =>
        {
            step.Registers[register] = value;
            return true;
        });
        registers[register] = value;
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="address"/>: the stack, the input, the metadata or an environment region.</summary>
    /// <exception cref="EbpfDebuggerException">The session is not paused, or a byte lies outside the run's readable memory.</exception>
    public byte[] ReadMemory(ulong address, int length)
    {
        if (length is < 0 or > 1 << 20)
        {
            throw new EbpfDebuggerException($"cannot read {length} bytes (0 to 1 MiB at a time)");
        }

        var buffer = new byte[length];
        if (!Request(step => step.TryRead(address, buffer)))
        {
            throw new EbpfDebuggerException($"cannot read {length} bytes at 0x{address:x}: outside the run's memory");
        }

        return buffer;
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="address"/> where the program itself may write.</summary>
    /// <exception cref="EbpfDebuggerException">The session is not paused, or a byte lies outside the run's writable memory.</exception>
    public void WriteMemory(ulong address, ReadOnlySpan<byte> data)
    {
        byte[] copy = data.ToArray();
        if (!Request(step => step.TryWrite(address, copy)))
        {
            throw new EbpfDebuggerException($"cannot write {copy.Length} bytes at 0x{address:x}: outside the run's writable memory");
        }
    }

    /// <summary>Ends a paused run (the state becomes <see cref="DebugState.Abandoned"/>) and waits for its thread.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (State == DebugState.Paused)
        {
            abort = true;
            toRun.Release();
            toController.Wait();
        }

        thread?.Join();
        toRun.Dispose();
        toController.Dispose();
    }

    private int PausedPc() =>
        State == DebugState.Paused ? Pc : throw new EbpfDebuggerException($"the session is not paused (it is {State.ToString().ToLowerInvariant()})");

    private static int CheckRegister(int register) =>
        register is >= 0 and < InstructionStep.RegisterCount ? register : throw new EbpfDebuggerException($"there is no register r{register} (r0 to r10)");

    private DebugState Resume(bool step)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        PausedPc();
        stepping = step;
        toRun.Release();
        toController.Wait();
        return State;
    }

    private bool Request(Func<InstructionStep, bool> action)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        PausedPc();
        request = action;
        toRun.Release();
        toController.Wait();
        return requestResult;
    }

    private void RunThread(byte[] memory, byte[] metadata)
    {
        try
        {
            Result = program.Run(memory, metadata, new Observer(this));
            registers[0] = Result.Value;
            State = DebugState.Completed;
        }
        catch (EbpfRuntimeException e)
        {
            Error = e;
            State = DebugState.Failed;
        }
        catch (AbortException)
        {
            State = DebugState.Abandoned;
        }
        catch (Exception e)
        {
            // An engine error that is not a run failure: report it as one so the controller is never left waiting.
            Error = new EbpfDebuggerException($"the debugged run ended with {e.GetType().Name}: {e.Message}");
            State = DebugState.Failed;
        }

        Pc = -1;
        toController.Release();
    }

    private void Pause(in InstructionStep step)
    {
        Pc = step.Pc;
        CallDepth = step.CallDepth;
        CurrentProgram = step.Program;
        step.Registers.CopyTo(registers);
        State = DebugState.Paused;
        toController.Release();
        while (true)
        {
            toRun.Wait();
            if (abort)
            {
                throw new AbortException();
            }

            if (request is { } action)
            {
                request = null;
                requestResult = action(step);
                toController.Release();
                continue;
            }

            break;
        }
    }

    private bool ShouldStop(in InstructionStep step)
    {
        if (stepping)
        {
            return true;
        }

        if (!ReferenceEquals(step.Program, program.Program))
        {
            return false;
        }

        lock (breakpoints)
        {
            return breakpoints.Contains(step.Pc);
        }
    }

    /// <summary>Thrown on the run's thread to unwind a run the session was disposed in.</summary>
    private sealed class AbortException : Exception
    {
    }

    private sealed class Observer(EbpfDebugger debugger) : IInstructionObserver
    {
        public void OnInstruction(in InstructionStep step)
        {
            if (debugger.ShouldStop(step))
            {
                debugger.Pause(step);
            }

            debugger.InstructionsExecuted++;
        }
    }
}
