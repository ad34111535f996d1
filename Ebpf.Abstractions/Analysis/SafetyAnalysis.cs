using System.Collections.Immutable;
using Ebpf.Verification;

namespace Ebpf.Analysis;

/// <summary>
/// The result of the safety analysis of one program (<see cref="AnalysisResults.Safety(SafetyContext)"/>): for every
/// memory access whether it is proven in bounds, refuted or unknown; the errors (uninitialised reads, refuted
/// accesses, helper calls with arguments of the wrong kind: a proving verifier rejects the program in any mode); and
/// the unproven points (unknown accesses, helpers without signatures: a strict verifier rejects those too).
/// </summary>
public sealed class SafetyAnalysis
{
    private readonly AccessProof[] accesses;

    private readonly ContextField?[]? contextFields;

    internal SafetyAnalysis(AccessProof[] accesses, ImmutableArray<SafetyFinding> errors, ImmutableArray<SafetyFinding> unproven, string? log, ContextField?[]? contextFields = null)
    {
        this.accesses = accesses;
        this.contextFields = contextFields;
        Errors = errors;
        Unproven = unproven;
        Log = log;
    }

    /// <summary>
    /// This analysis with the accesses at some pcs replaced (their conclusion and context field): the analysis of a
    /// program that differs from this one's only in those instructions, each of which the analyser concludes so under the
    /// other program's context (the kernel's context loads rewritten to the run's own context, see
    /// <c>ContextRewriter</c>). Findings and load refusals are kept; the log is not.
    /// </summary>
    internal SafetyAnalysis WithAccesses(IReadOnlyList<(int Pc, AccessProof Proof, ContextField? Field)> changes)
    {
        var changed = (AccessProof[])accesses.Clone();
        var fields = (ContextField?[]?)contextFields?.Clone();
        foreach (var (pc, proof, field) in changes)
        {
            changed[pc] = proof;
            if (fields is not null)
            {
                fields[pc] = field;
            }
        }

        return new SafetyAnalysis(changed, Errors, Unproven, null, fields) { LoadRefusals = LoadRefusals, HelperStackWriteBytes = HelperStackWriteBytes };
    }

    /// <summary>The definite errors, in the order found.</summary>
    public ImmutableArray<SafetyFinding> Errors { get; }

    /// <summary>What could not be proven (no error either), in the order found.</summary>
    public ImmutableArray<SafetyFinding> Unproven { get; }

    /// <summary>
    /// The unproven points (also in <see cref="Unproven"/>) that the kernel's verifier refuses at load whatever the run
    /// would do: a ring buffer record that may still be owned at the program's exit or at a tail call (an unreleased
    /// reference), a callback context that is neither a stack pointer nor null. The engines run such a program safely
    /// (hybrid mode keeps the checks); a host that loads programs as the kernel does refuses it
    /// (<c>KernelProgram.Load</c> does).
    /// </summary>
    public ImmutableArray<SafetyFinding> LoadRefusals { get; init; } = [];

    /// <summary>
    /// How many bytes below the entry function's r10 the program's helper calls may write, on the paths the analysis
    /// followed: the deepest byte of every memory argument a helper's signature says it writes
    /// (<see cref="Helpers.HelperArgumentKind.WritableMemory"/>, with its size) whose pointer is proven into the entry
    /// frame. Null when some call may write where the analysis cannot place it: a helper without a signature,
    /// <c>callx</c>, a writable argument it does not prove or a checked pointer, a helper that calls back, a frame address
    /// passed as a plain value, a write into a local call's frame, or an analysis that gave up. Like every conclusion
    /// here it trusts the helpers' signatures, and it holds only for a program without errors (<see cref="IsSafe"/>):
    /// a path is not followed past an error. The stack footprint of a run uses it (with the proven stores).
    /// </summary>
    internal int? HelperStackWriteBytes { get; init; }

    /// <summary>True when there is no error: a hybrid verifier accepts the program (unknown accesses keep their checks).</summary>
    public bool IsSafe => Errors.IsEmpty;

    /// <summary>True when everything is proven: a strict verifier accepts the program.</summary>
    public bool IsProven => Errors.IsEmpty && Unproven.IsEmpty;

    /// <summary>
    /// Why <paramref name="mode"/> refuses <paramref name="program"/> (the program this is the analysis of): the first
    /// error, or in <see cref="VerificationMode.Strict"/> mode also the first unproven point, with its pc, instruction and
    /// reason; null when the mode accepts it (<see cref="VerificationMode.Structural"/> accepts every program).
    /// </summary>
    internal EbpfVerificationException? Rejection(EbpfProgram program, VerificationMode mode)
    {
        if (mode == VerificationMode.Structural)
        {
            return null;
        }

        var finding = Errors.FirstOrDefault() ?? (mode == VerificationMode.Strict ? Unproven.FirstOrDefault() : null);
        if (finding is null)
        {
            return null;
        }

        string what = Errors.IsEmpty ? "not proven" : "unsafe";
        return new EbpfVerificationException(finding.Pc, program.Instructions[finding.Pc], $"{finding.Instruction}: {what}: {finding.Message}");
    }

    /// <summary>The verifier log (per instruction visited: the instruction and the state before it; the findings), when asked for.</summary>
    public string? Log { get; }

    /// <summary>The number of loads, stores and atomics in the program.</summary>
    public int AccessCount => accesses.Count(a => a.Outcome != AccessOutcome.NotAnAccess);

    /// <summary>The number of them proven in bounds.</summary>
    public int ProvenCount => accesses.Count(a => a.Outcome == AccessOutcome.Proven);

    /// <summary>The conclusion for the access at <paramref name="pc"/> (<see cref="AccessOutcome.NotAnAccess"/> for other instructions).</summary>
    public AccessProof Access(int pc) => accesses[pc];

    /// <summary>
    /// The context field the load or store at <paramref name="pc"/> hits, when its base is the context pointer on
    /// every path and the access is proven (see <see cref="ContextLayout"/>); null for every other instruction and
    /// without a layout. A host rewrites these loads at load time, as the kernel does for <c>data</c> and <c>data_end</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pc"/> is not a slot of the program.</exception>
    public ContextField? ContextFieldAt(int pc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pc);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pc, accesses.Length);
        return contextFields?[pc];
    }
}
