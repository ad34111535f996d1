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
public sealed unsafe class IlCompiledProgram : CompiledProgram, IMemoryCheckStatistics
{
    private readonly IlFunction entry;
    private readonly int entryRegions;
    private readonly Lazy<IlFunction> anyRegionsEntry;
    private readonly int checkedAccesses;
    private readonly int provenAccesses;

    [RequiresDynamicCode("Generates IL with System.Reflection.Emit.")]
    internal IlCompiledProgram(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, bool recordIlListing, int chunkSlots)
        : base(IlEngine.EngineName, program, environment, options)
    {
        entryRegions = Math.Min(environment.Regions.Count, MemoryCheckEmitter.MaxUnrolledRegions);
        var plan = CheckPlan.Create(program, environment, Options);
        var compiler = new ProgramCompiler(program, environment, Options, plan, recordIlListing, entryRegions, chunkSlots);
        (entry, IlListing) = compiler.Compile();
        checkedAccesses = compiler.CheckedAccesses;
        provenAccesses = plan.ProvenCount;

        // Runs with more environment regions than that (regions added after compiling) use a second compilation, made
        // the first time one happens (without memory checks the two would be the same).
        anyRegionsEntry = Options.MemoryChecks
            ? new Lazy<IlFunction>(() => new ProgramCompiler(program, environment, Options, plan, false, inlineRegions: null, chunkSlots).Compile().Entry)
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
    private protected override ulong Execute(ref RunState state)
    {
        CallFrame frame = default;
        frame.R1 = state.ContextAddress;
        frame.R2 = state.ContextLength;
        frame.R10 = state.StackEnd;

        // The state lives on the stack of CompiledProgram.Run, so its address is stable for the run.
        var function = state.RegionCount <= entryRegions || !Options.MemoryChecks ? entry : anyRegionsEntry.Value;
        try
        {
            return function((RunState*)Unsafe.AsPointer(ref state), &frame, 1);
        }
        catch (Exception e) when (e is not EbpfRuntimeException && state.HelperPc != 0)
        {
            // An rbpf-style helper called directly by the code threw (see CallEmitter.SimpleHelperCall).
            throw ((IlClosure)function.Target!).HelperFailure(e, state.HelperPc - 1);
        }
    }
}
