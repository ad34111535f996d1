using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection.Emit;
using System.Text;
using Ebpf.Analysis;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Il.Runtime;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Compiles a whole program: resolves its helpers, creates one <see cref="DynamicMethod"/> per eBPF function (local
/// calls are direct IL calls between them, so recursion works), emits every function and binds the entry function
/// to the program's <see cref="IlClosure"/>.
/// </summary>
[RequiresDynamicCode("Generates IL with System.Reflection.Emit.")]
internal sealed unsafe class ProgramCompiler
{
    private static readonly Type[] ParameterTypes = [typeof(IlClosure), typeof(RunState*), typeof(CallFrame*), typeof(int)];
    private static readonly Type[] DirectParameterTypes = [typeof(IlClosure), typeof(ulong), typeof(ulong)];
    private static readonly Type[] ChunkParameterTypes = [typeof(IlClosure), typeof(RunState*), typeof(CallFrame*), typeof(int), typeof(int)];

    private HelperPlan? helpers;
    private IlClosure? closure;
    private readonly DynamicMethod[] methods;
    private readonly StringBuilder? listing;
    private readonly string methodPrefix;
    private readonly int chunkSlots;

    /// <summary>Prepares the compilation; functions longer than <paramref name="chunkSlots"/> slots are compiled in chunks.</summary>
    public ProgramCompiler(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, CheckPlan plan, bool recordListing, int? inlineRegions, int chunkSlots, CompiledProgram running)
    {
        Running = running;
        Plan = plan;
        this.chunkSlots = chunkSlots;
        Program = program;
        Environment = environment;
        Options = options;
        InlineRegions = inlineRegions;
        listing = recordListing ? new StringBuilder() : null;
        string name = program.Name is { Length: > 0 } n ? n : "program";
        methodPrefix = $"ebpf_{name}{(inlineRegions is null ? "_anyregions" : string.Empty)}_f";
        methods = new DynamicMethod[program.Functions.Length];
        for (int i = 0; i < methods.Length; i++)
        {
            methods[i] = NewMethod(i.ToString(CultureInfo.InvariantCulture), ParameterTypes);
        }
    }

    public EbpfProgram Program { get; }

    /// <summary>The compiled program the code belongs to (helpers that call back run its functions).</summary>
    public CompiledProgram Running { get; }

    public ProgramEnvironment Environment { get; }

    public ExecutionOptions Options { get; }

    /// <summary>Which accesses are checked, and against which region inline.</summary>
    public CheckPlan Plan { get; }

    /// <summary>True once some emitted code calls an rbpf-style helper's delegate itself (see <c>CallEmitter</c>).</summary>
    public bool CallsHelpersDirectly { get; set; }

    /// <summary>The number of accesses emitted with a run-time check so far.</summary>
    public int CheckedAccesses { get; set; }

    /// <summary>The number of loops emitted with a guard and an unchecked copy so far.</summary>
    public int GuardedLoops { get; set; }

    /// <summary>The number of accesses those copies run without a check.</summary>
    public int GuardedAccesses { get; set; }

    /// <summary>The number of guarded loops emitted with the whole-range form too so far.</summary>
    public int WholeRangeLoops { get; set; }

    /// <summary>
    /// The number of environment regions the code is made for (runs with at most that many, all checked without a
    /// loop), or null for code that serves runs with any number (see <see cref="MemoryCheckEmitter.MaxUnrolledRegions"/>).
    /// </summary>
    public int? InlineRegions { get; }

    /// <summary>The helpers of the program (see <see cref="HelperPlan"/>), resolved when <see cref="Compile"/> starts.</summary>
    public HelperPlan Helpers => helpers!;

    /// <summary>Adds a lookup the code calls directly (see <see cref="IlClosure.DirectLookups"/>); returns the index the code names.</summary>
    public int AddDirectLookup(DirectLookup lookup)
    {
        closure!.DirectLookups.Add(lookup);
        return closure.DirectLookups.Count - 1;
    }

    /// <summary>The dynamic method of function <paramref name="index"/>.</summary>
    public DynamicMethod Method(int index) => methods[index];

    /// <summary>Emits every function; returns the entry point and the listing (when recorded).</summary>
    public (IlFunction Entry, string? Listing) Compile()
    {
        helpers = HelperPlan.Create(Program, Environment, IlEngine.EngineName);
        var closure = this.closure = new IlClosure(Program, Environment, Options, [.. helpers.Helpers], helpers.Callx, Running);
        listing?.Append(CultureInfo.InvariantCulture, $"// {Program} compiled by the il engine: memory checks {(Options.MemoryChecks ? "on" : "off")}, budget {(Options.InstructionBudget?.ToString(CultureInfo.InvariantCulture) ?? "none")}\n");
        for (int i = 0; i < methods.Length; i++)
        {
            var function = Program.Functions[i];
            var segments = Options.InstructionBudget is null ? null : Program.Analysis.Segments(Options.MemoryChecks);
            var plan = ChunkPlan.Create(Program, function, segments, chunkSlots);
            listing?.Append(CultureInfo.InvariantCulture, $".method {methods[i].Name}\n");
            if (plan is null)
            {
                new FunctionCompiler(this, i, methods[i].GetILGenerator(function.Length * 24), listing, segments).Compile();
            }
            else
            {
                closure.Chunked[i] = CompileChunks(i, plan, segments, closure);
            }
        }

        // Finish every method now (the entry's delegate is the one runs use).
        for (int i = 0; i < methods.Length; i++)
        {
            closure.Functions[i] = (IlFunction)methods[i].CreateDelegate(typeof(IlFunction), closure);
        }

        return (closure.Functions[0], listing?.ToString());
    }

    /// <summary>
    /// Emits the direct entry of a program that qualifies for one (see <see cref="DirectEntry"/>; its one function in
    /// one method, after <see cref="Compile"/>, with the same closure; not in the listing): r1 and r2 in (the input's
    /// first byte, 0 when it is empty, and its length), r0 out, no run state and no register frame. The delegate is
    /// closed over the closure, so a call of it is a call of the dynamic method.
    /// </summary>
    public Func<ulong, ulong, ulong> CompileDirect()
    {
        var method = new DynamicMethod(
            methodPrefix + "direct", typeof(ulong), DirectParameterTypes, typeof(IlClosure).Module, skipVisibility: true)
        {
            // The frame a direct entry allocates for a program that reaches one through r10 must start zeroed (see
            // DirectEntry.FrameBytes): the default, stated.
            InitLocals = true,
        };
        new FunctionCompiler(this, 0, method.GetILGenerator(Program.Length * 24), listing: null, segments: null, direct: true).Compile();
        return method.CreateDelegate<Func<ulong, ulong, ulong>>(closure!);
    }

    /// <summary>
    /// Compiles function <paramref name="index"/> as the chunks of <paramref name="plan"/>; its own method only hands
    /// over to <see cref="IlRuntime.RunChunked"/>, so local calls reach it the same way as any other function.
    /// </summary>
    private ChunkedFunction CompileChunks(int index, ChunkPlan plan, BudgetSegments? segments, IlClosure closure)
    {
        var il = new Emit.IlEmitter(methods[index].GetILGenerator(), listing);
        il.Ldarg(FunctionCompiler.ArgClosure);
        il.LdcI4(index);
        il.Ldarg(FunctionCompiler.ArgState);
        il.Ldarg(FunctionCompiler.ArgFrame);
        il.Ldarg(FunctionCompiler.ArgDepth);
        il.Call(RuntimeMembers.RunChunked);
        il.Ret();

        var function = Program.Functions[index];
        var chunks = new IlChunk[plan.Count];
        for (int c = 0; c < plan.Count; c++)
        {
            var method = NewMethod($"{index.ToString(CultureInfo.InvariantCulture)}_c{c.ToString(CultureInfo.InvariantCulture)}", ChunkParameterTypes);
            listing?.Append(CultureInfo.InvariantCulture, $".method {method.Name}\n");
            int length = plan.End(function, c) - plan.Starts[c];
            new FunctionCompiler(this, index, method.GetILGenerator(length * 24), listing, segments, plan, c).Compile();
            chunks[c] = (IlChunk)method.CreateDelegate(typeof(IlChunk), closure);
        }

        return new ChunkedFunction(function.Start, chunks, plan.ChunkOf, plan.EntryOf);
    }

    private DynamicMethod NewMethod(string suffix, Type[] parameters) =>
        new(methodPrefix + suffix, typeof(ulong), parameters, typeof(IlClosure).Module, skipVisibility: true);
}
