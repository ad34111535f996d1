using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Diagnostics;
using Ebpf.Execution;
using Ebpf.X64;
using Ebpf.X64.Runtime;

namespace Ebpf.Bench;

/// <summary>
/// The plain run path of one compiled program cut into cumulative layers, each a method of its own that does what the
/// one before it does and one thing more, with the library's own code for each piece (<c>--floor-layers</c>, see
/// <see cref="RunFloorLayersProbe"/>): the difference between two layers is what that piece costs on this machine. The
/// last layers are the library's whole run, then the public <see cref="ICompiledProgram.Run(Span{byte})"/>.
/// </summary>
internal sealed unsafe class RunPathLayers
{
    private readonly CompiledProgram program;
    private readonly byte* input;
    private readonly ulong length;
    private readonly int stackBytes;

    /// <summary>
    /// The layers in order: name, the method that runs it once, and whether it stands apart (a piece timed alone, whose
    /// step is from the first layer, the bare call) rather than adding to the layer before.
    /// </summary>
    public IReadOnlyList<(string Name, Func<RunPathLayers, ulong> Layer, bool Apart)> Layers { get; }

    public RunPathLayers(CompiledProgram program, byte* input, ulong length)
    {
        this.program = program;
        this.input = input;
        this.length = length;
        stackBytes = program.Options.StackSize * program.Options.MaxCallDepth;
        var layers = new List<(string, Func<RunPathLayers, ulong>, bool)>
        {
            ("call", static l => l.Call(), false),
            ("+ thread stack", static l => l.ThreadStack(), false),
            ("+ untimed, telemetry", static l => l.Checks(), false),
            ("+ watch word, lease", static l => l.Watch(), false),
            ("+ try/finally", static l => l.TryFinally(), false),
            ("+ prepare run", static l => l.Prepare(), false),
            ("+ execute", static l => l.Execute(), false),
            ("whole run (internal)", static l => l.WholeRun(), false),
            ("public Run(Span)", static l => l.PublicRun(), false),
        };
        if (program is X64CompiledProgram)
        {
            layers.Add(("x64 native call alone", static l => l.NativeCall(), true));
            layers.Add(("x64 fill + native call", static l => l.FillAndCall(), true));
        }

        Layers = layers;
    }

    /// <summary>A call that returns a constant: what every layer's call costs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Call() => length;

    /// <summary>The thread's stack area (a thread-static lookup and the busy and size checks).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ThreadStack() => RunStack.TryCurrent(stackBytes) is null ? 0UL : 1UL;

    /// <summary>Plus the checks that choose the fast path: no timeout, no metrics listener.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Checks()
    {
        RunStack? stack;
        return program.Untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(stackBytes)) is not null ? (ulong)stack.Length : 0;
    }

    /// <summary>Plus the watch word written at the start and at the end, which is also the run lease, and the disposed checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Watch()
    {
        RunStack? stack;
        if (program.Untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(stackBytes)) is not null)
        {
            long watch = program.EnterOnThread(stack);
            program.LeaveOnThread(stack, watch);
            return (ulong)watch;
        }

        return 0;
    }

    /// <summary>Plus the try/finally around the run.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong TryFinally()
    {
        RunStack? stack;
        if (program.Untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(stackBytes)) is not null)
        {
            long watch = program.EnterOnThread(stack);
            try
            {
                return (ulong)watch;
            }
            finally
            {
                program.LeaveOnThread(stack, watch);
            }
        }

        return 0;
    }

    /// <summary>Plus the per-run fields of the run state (input, context, budget, region table).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Prepare()
    {
        RunStack? stack;
        if (program.Untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(stackBytes)) is not null)
        {
            RunState* state = stack.State;
            var regions = program.PrepareRun(state, input, length, null, 0);
            long watch = program.EnterOnThread(stack);
            try
            {
                return state->ContextLength;
            }
            finally
            {
                program.LeaveOnThread(stack, watch);
                GC.KeepAlive(regions);
            }
        }

        return 0;
    }

    /// <summary>Plus the engine's code (the virtual call, the engine's entry and the program itself).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Execute()
    {
        RunStack? stack;
        if (program.Untimed && !EbpfTelemetry.RunsObserved && (stack = RunStack.TryCurrent(stackBytes)) is not null)
        {
            RunState* state = stack.State;
            var regions = program.PrepareRun(state, input, length, null, 0);
            long watch = program.EnterOnThread(stack);
            try
            {
                return program.ExecutePrepared(ref *state);
            }
            finally
            {
                program.LeaveOnThread(stack, watch);
                GC.KeepAlive(regions);
            }
        }

        return 0;
    }

    /// <summary>The library's whole run on raw memory (adds the stack clearing and the reset and tail-call checks).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong WholeRun() => program.Run(input, length, null, 0);

    /// <summary>The public run on a span, through the interface, as a user makes it (adds the interface call and the span's pinning).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong PublicRun() => ((ICompiledProgram)program).Run(new Span<byte>(input, (int)length));

    /// <summary>x64: the native call alone, on a run block filled once (the code of a brief program, entered without the GC transition).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong NativeCall()
    {
        ref var filled = ref FilledBlock();
        return ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)((X64CompiledProgram)program).CodeAddress)((RunBlock*)Unsafe.AsPointer(ref filled));
    }

    /// <summary>x64: the run block filled from the thread's state, then the native call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong FillAndCall()
    {
        var x64 = (X64CompiledProgram)program;
        ref var filled = ref FilledBlock();
        x64.Fill(ref filled, ref *threadState);
        return ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)x64.CodeAddress)((RunBlock*)Unsafe.AsPointer(ref filled));
    }

    /// <summary>A run block of this object's (pinned), filled once from the thread's state.</summary>
    private ref RunBlock FilledBlock()
    {
        if (block is null)
        {
            block = GC.AllocateArray<RunBlock>(1, pinned: true);
            threadState = RunStack.TryCurrent(stackBytes)!.State;
            _ = program.PrepareRun(threadState, input, length, null, 0);
            ((X64CompiledProgram)program).Fill(ref block[0], ref *threadState);
        }

        return ref MemoryMarshal.GetArrayDataReference(block);
    }

    private RunBlock[]? block;

    /// <summary>The measuring thread's run state (set with <see cref="block"/>).</summary>
    private RunState* threadState;
}
