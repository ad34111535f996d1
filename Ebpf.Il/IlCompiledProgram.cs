using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Ebpf.Analysis;
using Ebpf.Execution;
using Ebpf.Il.Compiler;
using Ebpf.Il.Runtime;

namespace Ebpf.Il;

/// <summary>
/// A program compiled by the <see cref="IlEngine"/>: one <see cref="System.Reflection.Emit.DynamicMethod"/> per eBPF
/// function, JIT-compiled by the runtime on the first run. Thread-safe; each run has its own registers and stack.
/// </summary>
public sealed unsafe partial class IlCompiledProgram : CompiledProgram, IMemoryCheckStatistics, ILoopGuardStatistics
{
    private readonly IlFunction entry;
    private readonly int entryRegions;
    private readonly Lazy<IlFunction> anyRegionsEntry;
    private readonly int checkedAccesses;
    private readonly int provenAccesses;
    private readonly int guardedLoops;
    private readonly int guardedAccesses;
    private readonly int wholeRangeLoops;

    /// <summary>
    /// True when the code calls an rbpf-style helper's delegate itself (see <see cref="Call"/>); other code is called
    /// without the exception handler, so that the entry adds no protected region to the run.
    /// </summary>
    private readonly bool callsHelpersDirectly;

    /// <summary>The direct entry (see <see cref="DirectEntry"/>), or null when the program has none.</summary>
    private readonly Func<ulong, ulong, ulong>? direct;

    [RequiresDynamicCode("Generates IL with System.Reflection.Emit.")]
    internal IlCompiledProgram(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, bool recordIlListing, int chunkSlots)
        : base(IlEngine.EngineName, program, environment, options)
    {
        entryRegions = Math.Min(environment.Regions.Count, MemoryCheckEmitter.MaxUnrolledRegions);
        var plan = CheckPlan.Create(program, environment, Options);
        var compiler = new ProgramCompiler(program, environment, Options, plan, recordIlListing, entryRegions, chunkSlots, this);
        (entry, IlListing) = compiler.Compile();
        checkedAccesses = compiler.CheckedAccesses;
        provenAccesses = plan.ProvenCount;
        guardedLoops = compiler.GuardedLoops;
        guardedAccesses = compiler.GuardedAccesses;
        wholeRangeLoops = compiler.WholeRangeLoops;
        callsHelpersDirectly = compiler.CallsHelpersDirectly;

        // A qualifying program that fits one method (a longer one is compiled in chunks) gets a direct entry too; a
        // program with loops that qualifies gets the restartable one (see DirectEntry.QualifiesWithLoops).
        if ((DirectEligible || LoopDirectEligible) && program.Length <= chunkSlots)
        {
            direct = compiler.CompileDirect();
            UseDirectEntry(direct);
        }

        // Runs with more environment regions than that (regions added after compiling) use a second compilation, made
        // the first time one happens (without memory checks the two would be the same).
        anyRegionsEntry = Options.MemoryChecks
            ? new Lazy<IlFunction>(() => new ProgramCompiler(program, environment, Options, plan, false, inlineRegions: null, chunkSlots, this).Compile().Entry)
            : new Lazy<IlFunction>(entry);
    }

    /// <summary>
    /// The emitted IL as text (every method, its locals, labels and instructions, each eBPF instruction introduced by
    /// a comment with its pc), when the engine was created with <see cref="IlEngine.RecordIlListing"/>; otherwise null.
    /// It shows the code for runs with as many environment regions as there were when compiling (runs with more use a
    /// variant whose cold path also loops over the rest of the region table).
    /// For debugging the engine and for seeing what a program turns into.
    /// </summary>
    public string? IlListing { get; }

    /// <inheritdoc />
    int IMemoryCheckStatistics.CheckedAccesses => checkedAccesses;

    /// <inheritdoc />
    int IMemoryCheckStatistics.ProvenAccesses => provenAccesses;

    /// <inheritdoc />
    int ILoopGuardStatistics.GuardedLoops => guardedLoops;

    /// <inheritdoc />
    int ILoopGuardStatistics.GuardedAccesses => guardedAccesses;

    /// <inheritdoc />
    int ILoopGuardStatistics.WholeRangeLoops => wholeRangeLoops;

    /// <inheritdoc />
    /// <remarks>The frame is cleared once, by its initialiser (<see cref="SkipLocalsInitAttribute"/>: without it the JIT
    /// also zeroed it as a local of the inlined method, twice per run).</remarks>
    [SkipLocalsInit]
    private protected override ulong Execute(ref RunState state)
    {
        CallFrame frame = default;
        frame.R1 = state.ContextAddress;
        frame.R2 = state.ContextLength;
        frame.R10 = state.StackEnd;
        var function = EntryFor(ref state);
        return callsHelpersDirectly
            ? Call(ref state, function, &frame, 1)
            : function((RunState*)Unsafe.AsPointer(ref state), &frame, 1);
    }

    /// <inheritdoc />
    /// <remarks>The callback is the function's own compiled method (of the same compilation as the run's entry), called
    /// like a local call with a frame of registers and its depth.</remarks>
    private protected override ulong ExecuteCallback(ref RunState state, int function, ulong frameTop, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        CallFrame frame = default;
        frame.R1 = a1;
        frame.R2 = a2;
        frame.R3 = a3;
        frame.R4 = a4;
        frame.R5 = a5;
        frame.R10 = frameTop;
        int depth = 1 + (int)((state.StackEnd - frameTop) / (ulong)Options.StackSize);
        var callee = ((IlClosure)EntryFor(ref state).Target!).Functions[function];
        return callsHelpersDirectly
            ? Call(ref state, callee, &frame, depth)
            : callee((RunState*)Unsafe.AsPointer(ref state), &frame, depth);
    }

    /// <summary>The compilation a run uses: the one made for the environment's regions at compile time, or the one for any number.</summary>
    private IlFunction EntryFor(ref RunState state) =>
        state.RegionCount <= entryRegions || !Options.MemoryChecks ? entry : anyRegionsEntry.Value;

    /// <summary>
    /// Calls code that calls rbpf-style helpers directly: an exception such a helper throws becomes the helper's
    /// <see cref="EbpfHelperException"/> here (what <see cref="CompiledProgram"/>'s helper invocation does on the other paths).
    /// </summary>
    private static ulong Call(ref RunState state, IlFunction function, CallFrame* frame, int depth)
    {
        // The state is pinned (the thread's) or on the stack of the run, so its address is stable for the run.
        try
        {
            return function((RunState*)Unsafe.AsPointer(ref state), frame, depth);
        }
        catch (Exception e) when (e is not EbpfRuntimeException && state.HelperPc != 0)
        {
            // An rbpf-style helper called directly by the code threw (see CallEmitter.SimpleHelperCall).
            throw ((IlClosure)function.Target!).HelperFailure(e, state.HelperPc - 1);
        }
    }
}
