using System.Collections.Frozen;
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

    private readonly Dictionary<int, int> helperSlots = new();
    private readonly HashSet<int> stoppingCalls = new();
    private readonly List<Helper> helpers = new();
    private readonly DynamicMethod[] methods;
    private readonly StringBuilder? listing;
    private bool hasCallx;

    public ProgramCompiler(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, bool recordListing, int? inlineRegions)
    {
        Program = program;
        Environment = environment;
        Options = options;
        InlineRegions = inlineRegions;
        listing = recordListing ? new StringBuilder() : null;
        string name = program.Name is { Length: > 0 } n ? n : "program";
        methods = new DynamicMethod[program.Functions.Length];
        for (int i = 0; i < methods.Length; i++)
        {
            methods[i] = new DynamicMethod(
                $"ebpf_{name}_f{i.ToString(CultureInfo.InvariantCulture)}{(inlineRegions is null ? "_anyregions" : string.Empty)}",
                typeof(ulong),
                ParameterTypes,
                typeof(IlClosure).Module,
                skipVisibility: true);
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

    /// <summary>The dynamic method of function <paramref name="index"/>.</summary>
    public DynamicMethod Method(int index) => methods[index];

    /// <summary>Emits every function; returns the entry point and the listing (when recorded).</summary>
    public (IlFunction Entry, string? Listing) Compile()
    {
        ResolveHelpers();
        var callx = hasCallx
            ? Environment.Helpers.ToFrozenDictionary(h => (ulong)h.Id)
            : FrozenDictionary<ulong, Helper>.Empty;
        var closure = new IlClosure(Program, Environment, Options, helpers.ToArray(), callx);
        listing?.Append(CultureInfo.InvariantCulture, $"// {Program} compiled by the il engine: memory checks {(Options.MemoryChecks ? "on" : "off")}, budget {(Options.InstructionBudget?.ToString(CultureInfo.InvariantCulture) ?? "none")}\n");
        for (int i = 0; i < methods.Length; i++)
        {
            listing?.Append(CultureInfo.InvariantCulture, $".method {methods[i].Name}\n");
            new FunctionCompiler(this, i, methods[i].GetILGenerator(Program.Functions[i].Length * 24), listing).Compile();
        }

        // Finish every method now (the entry's delegate is the one runs use).
        var entry = (IlFunction)methods[0].CreateDelegate(typeof(IlFunction), closure);
        for (int i = 1; i < methods.Length; i++)
        {
            methods[i].CreateDelegate(typeof(IlFunction), closure);
        }

        return (entry, listing?.ToString());
    }

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
            if (insn.OpCode == OpCodes.CallX)
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
