using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection.Emit;
using System.Text;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Il.Runtime;
using Ebpf.Isa;
using OpCodes = Ebpf.Isa.OpCodes;

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
    private static readonly Type[] ChunkParameterTypes = [typeof(IlClosure), typeof(RunState*), typeof(CallFrame*), typeof(int), typeof(int)];

    private readonly Dictionary<int, int> helperSlots = new();
    private readonly HashSet<int> stoppingCalls = new();
    private readonly List<Helper> helpers = new();
    private readonly DynamicMethod[] methods;
    private readonly StringBuilder? listing;
    private readonly string methodPrefix;
    private readonly int chunkSlots;
    private readonly Dictionary<int, AccessRegion[]> accessRegions = new();
    private bool hasCallx;

    /// <summary>Prepares the compilation; functions longer than <paramref name="chunkSlots"/> slots are compiled in chunks.</summary>
    public ProgramCompiler(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, bool recordListing, int? inlineRegions, int chunkSlots)
    {
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

    public ProgramEnvironment Environment { get; }

    public ExecutionOptions Options { get; }

    /// <summary>
    /// The number of environment regions the code is made for (runs with at most that many, all checked without a
    /// loop), or null for code that serves runs with any number (see <see cref="MemoryCheckEmitter.MaxUnrolledRegions"/>).
    /// </summary>
    public int? InlineRegions { get; }

    /// <summary>True when some helper may end the run early (context helpers and <c>callx</c>), so local calls must check.</summary>
    public bool MayStop { get; private set; }

    /// <summary>The index in <see cref="IlClosure.Helpers"/> of the helper a <c>call imm</c> at <paramref name="pc"/> calls.</summary>
    public int HelperSlot(int pc) => helperSlots[pc];

    /// <summary>True when the helper called at <paramref name="pc"/> receives the context, so it can stop the run.</summary>
    public bool HelperMayStop(int pc) => stoppingCalls.Contains(pc);

    /// <summary>The region each access of function <paramref name="index"/> most likely touches (see
    /// <see cref="AccessRegionGuess"/>), worked out once for all of its chunks.</summary>
    public AccessRegion[] AccessRegions(int index)
    {
        if (!accessRegions.TryGetValue(index, out var guess))
        {
            guess = AccessRegionGuess.Guess(Program, Program.Functions[index], index == 0);
            accessRegions.Add(index, guess);
        }

        return guess;
    }

    /// <summary>The dynamic method of function <paramref name="index"/>.</summary>
    public DynamicMethod Method(int index) => methods[index];

    /// <summary>Emits every function; returns the entry point and the listing (when recorded).</summary>
    public (IlFunction Entry, string? Listing) Compile()
    {
        ResolveHelpers();
        var callx = hasCallx ? new CallxTable(Environment.Helpers) : null;
        var closure = new IlClosure(Program, Environment, Options, helpers.ToArray(), callx);
        listing?.Append(CultureInfo.InvariantCulture, $"// {Program} compiled by the il engine: memory checks {(Options.MemoryChecks ? "on" : "off")}, budget {(Options.InstructionBudget?.ToString(CultureInfo.InvariantCulture) ?? "none")}\n");
        for (int i = 0; i < methods.Length; i++)
        {
            var function = Program.Functions[i];
            int[] segments = Options.InstructionBudget is null ? [] : BudgetPlan.Segments(Program, function, Options.MemoryChecks);
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
        var entry = (IlFunction)methods[0].CreateDelegate(typeof(IlFunction), closure);
        for (int i = 1; i < methods.Length; i++)
        {
            methods[i].CreateDelegate(typeof(IlFunction), closure);
        }

        return (entry, listing?.ToString());
    }

    /// <summary>
    /// Compiles function <paramref name="index"/> as the chunks of <paramref name="plan"/>; its own method only hands
    /// over to <see cref="IlRuntime.RunChunked"/>, so local calls reach it the same way as any other function.
    /// </summary>
    private ChunkedFunction CompileChunks(int index, ChunkPlan plan, int[] segments, IlClosure closure)
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

    private void ResolveHelpers()
    {
        var slotOf = new Dictionary<Helper, int>(ReferenceEqualityComparer.Instance);
        for (int pc = 0; pc < Program.Length; pc++)
        {
            if (Program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = Program.Instructions[pc];
            if (insn.OpCode == OpCodes.Lddw)
            {
                // Resolved again when emitted; checked here too so that the first unresolvable instruction in program
                // order is the one reported, as on the other engines (found by the differential fuzz target).
                Environment.ResolveLddw(IlEngine.EngineName, Program, pc);
            }
            else if (insn.OpCode == OpCodes.CallX)
            {
                hasCallx = true;
                MayStop = true;
            }
            else if (OpCodeTable.IsHelperCall(insn))
            {
                var helper = Environment.ResolveHelper(IlEngine.EngineName, Program, pc);
                if (!slotOf.TryGetValue(helper, out int slot))
                {
                    slot = helpers.Count;
                    helpers.Add(helper);
                    slotOf.Add(helper, slot);
                }

                helperSlots[pc] = slot;
                if (helper.Simple is null)
                {
                    stoppingCalls.Add(pc);
                    MayStop = true;
                }
            }
        }
    }
}
