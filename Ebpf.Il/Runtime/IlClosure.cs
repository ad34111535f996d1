using Ebpf.Helpers;

namespace Ebpf.Il.Runtime;

/// <summary>
/// What the generated code of one program reaches at run time: the program (for error messages), the helpers it calls
/// (resolved when it was compiled) and its options. Immutable, shared by concurrent runs; the first argument of every
/// generated method.
/// </summary>
internal sealed class IlClosure
{
    public IlClosure(
        EbpfProgram program,
        ProgramEnvironment environment,
        ExecutionOptions options,
        Helper[] helpers,
        CallxTable? callxHelpers,
        Execution.CompiledProgram running)
    {
        Running = running;
        Functions = new IlFunction[program.Functions.Length];
        Program = program;
        Environment = environment;
        Options = options;
        Helpers = helpers;
        SimpleHelpers = [.. helpers.Select(h => h.Simple)];
        HelperTargets = [.. helpers.Select(h => h.Simple?.Target)];
        CallxHelpers = callxHelpers;
        Budget = options.InstructionBudget ?? long.MaxValue;
        Chunked = new ChunkedFunction?[program.Functions.Length];
    }

    /// <summary>The program.</summary>
    public EbpfProgram Program { get; }

    /// <summary>The compiled program this code belongs to (handed to helpers that call back).</summary>
    public Execution.CompiledProgram Running { get; }

    /// <summary>By function index: the compiled function (set while compiling; callbacks enter through it).</summary>
    public IlFunction[] Functions { get; }

    /// <summary>The environment it was compiled with.</summary>
    public ProgramEnvironment Environment { get; }

    /// <summary>The options it was compiled with.</summary>
    public ExecutionOptions Options { get; }

    /// <summary>The helpers of the program's <c>call imm</c> instructions, by the slot the generated code names.</summary>
    public Helper[] Helpers { get; }

    /// <summary>
    /// By slot, the rbpf-style function of each helper (null for a context helper): the generated code calls it
    /// directly (a field, so the code loads it with one instruction).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1051", Justification = "Read by generated IL with ldfld.")]
    public readonly HelperFunction?[] SimpleHelpers;

    /// <summary>
    /// By slot, the target of each rbpf-style function (null for a static method or a context helper): the generated code
    /// passes it as <c>this</c> where it calls an instance method by name (see <c>CallEmitter.SimpleHelperCall</c>).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1051", Justification = "Read by generated IL with ldfld.")]
    public readonly object?[] HelperTargets;

    /// <summary>
    /// The error of the rbpf-style helper called directly at <paramref name="pc"/> that threw <paramref name="error"/>
    /// (what <see cref="Execution.CompiledProgram.InvokeHelper"/> makes of it on the other paths).
    /// </summary>
    public EbpfHelperException HelperFailure(Exception error, int pc) =>
        Execution.CompiledProgram.HelperFailure(Program, pc, Helpers.First(h => h.Id == (uint)Program.Instructions[pc].Imm), error);

    /// <summary>
    /// The map lookups the generated code calls directly instead of the lookup helper (see
    /// <see cref="Helpers.DirectLookup"/>), by the index the code names (added while compiling).
    /// </summary>
    public List<DirectLookup> DirectLookups { get; } = [];

    /// <summary>A snapshot of the helper table for <c>callx</c> (null when the program has none).</summary>
    public CallxTable? CallxHelpers { get; }

    /// <summary>By function index: the chunks of a function compiled in several (set while compiling), else null.</summary>
    public ChunkedFunction?[] Chunked { get; }

    /// <summary>The configured instruction budget (for the error message).</summary>
    public long Budget { get; }
}
