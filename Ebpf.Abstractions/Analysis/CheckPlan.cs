using Ebpf.Verification;

namespace Ebpf.Analysis;

/// <summary>
/// Which loads, stores and atomics of a program an engine compiles with a run-time memory check, and which region each
/// checked one is compared against inline. Made once per compilation from the safety analysis
/// (<see cref="AnalysisResults.Safety(SafetyContext)"/>) under the context of the compilation's own environment and
/// options, so a proof is used only for the world it was made for:
/// <list type="bullet">
/// <item>r1/r2 at entry: the analysis' input is whatever r1 points at with r2 bytes, which is what every engine passes
/// (the input, or the metadata buffer in the metadata mode); a tail call starts the next program the same way. With
/// <see cref="ExecutionOptions.EntryContext"/> the analysis uses that layout instead (r1 = the context, the packet is
/// the input), and proofs about the context and the packet metadata are used too: the host that sets it guarantees
/// the context (see there), and a tail call only enters a program compiled for the same layout;</item>
/// <item>the stack frame size and the call depth are the options'; the helpers (with their signatures) and the map
/// shapes are a snapshot of the environment's, the same snapshot the compilation resolves its helpers from;</item>
/// <item>a program with any error (an uninitialised read, a refuted access, a bad helper argument) gets no proof at all:
/// the analysis stops following a path at an error, so accesses behind it are not covered (writes the analysis cannot
/// place, helpers without signatures, <c>callx</c> and lookups in maps of maps are modelled by the analysis itself: they
/// forget the registers spilled to the stack, and an inner map is no memory, so they need no rule here);</item>
/// <item>only proofs about the regions this list knows (input, stack, map value, global data) are used; a region kind
/// added later keeps its checks until it is listed here.</item>
/// </list>
/// The same analysis decides whether the program may be compiled at all (<see cref="ExecutionOptions.Verification"/>:
/// hybrid by default rejects a program with an error, strict one with any unproven point), so one compilation analyses
/// the program once, and uses that analysis' proof at any length. Only with <see cref="VerificationMode.Structural"/>,
/// which asks for no analysis, are programs longer than <see cref="MaxAnalyzedSlots"/> left unanalysed: their accesses
/// keep their checks, compared against the region <see cref="AnalysisResults.RegionOf"/> guesses.
/// </summary>
internal sealed class CheckPlan
{
    /// <summary>
    /// With <see cref="VerificationMode.Structural"/>, programs with more slots than this are not analysed and compile
    /// with every check (up to it the analysis takes about 1-20 ms and pays for itself in dropped checks). The other
    /// modes analyse every program for their refusal anyway, so they use the proof at any length.
    /// </summary>
    public const int MaxAnalyzedSlots = 4096;

    [ThreadStatic]
    private static int forcedChecks;

    private readonly EbpfProgram program;
    private readonly bool[]? proven;
    private readonly AccessRegion[]? regions;
    private readonly Lazy<LoopGuardPlan> loops;

    private CheckPlan(EbpfProgram program, bool[]? proven, AccessRegion[]? regions, int provenCount, int stackSize, bool guardLoops)
    {
        this.program = program;
        this.proven = proven;
        this.regions = regions;
        ProvenCount = provenCount;
        loops = guardLoops && regions is not null
            ? new Lazy<LoopGuardPlan>(() => LoopGuardPlan.Create(
                program, pc => !IsProven(pc) && !program.Analysis.IsOwnFrameAccess(pc, stackSize), RegionOf))
            : new Lazy<LoopGuardPlan>(LoopGuardPlan.None);
    }

    /// <summary>The number of accesses compiled without a check because they are proven.</summary>
    public int ProvenCount { get; }

    /// <summary>
    /// The loops an engine may run as an unchecked copy behind one guard (see <see cref="LoopGuardPlan"/>), worked out
    /// on first use; none when memory checks are off, the program is too long or the plan was made inside
    /// <see cref="ForceChecks"/>. Unlike the proofs, guards do not depend on the safety analysis: each is a run-time test.
    /// </summary>
    public LoopGuardPlan Loops => loops.Value;

    /// <summary>The number of checks the engines that use the whole plan leave out: proven accesses plus guarded ones (in the loops' unchecked copies).</summary>
    public int DroppedCount => ProvenCount + Loops.GuardedAccessCount;

    /// <summary>
    /// The plan for compiling <paramref name="program"/> for <paramref name="environment"/> with <paramref name="options"/>,
    /// after the verification the options ask for (an <see cref="EbpfVerificationException"/> when it refuses the program):
    /// every access checked when memory checks are off (nothing to decide), the program is too long for an unverified
    /// compilation (see <see cref="MaxAnalyzedSlots"/>), the thread is inside
    /// <see cref="ForceChecks"/>, or the proof cannot be trusted (see the class summary). The regions the checks compare
    /// against inline come from the analysis whenever it ran: a region only picks the fast comparison (every region is
    /// still tried on the cold path), so a partial analysis can name it.
    /// </summary>
    public static CheckPlan Create(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        bool verify = options.Verification != VerificationMode.Structural;
        bool prove = UsesProof(program, options);
        if (!verify && !prove)
        {
            return new CheckPlan(program, null, null, 0, options.StackSize, guardLoops: false);
        }

        var layout = options.EntryContext;
        var context = SafetyContext.For(environment, options, layout);
        var analysis = program.Analysis.Safety(context);
        if (analysis.Rejection(program, options.Verification) is { } rejection)
        {
            throw rejection;
        }

        if (!prove)
        {
            return new CheckPlan(program, null, null, 0, options.StackSize, guardLoops: false);
        }

        bool trusted = forcedChecks == 0 && analysis.IsSafe;
        var proven = new bool[program.Length];
        var regions = new AccessRegion[program.Length];
        int count = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            var proof = analysis.Access(pc);
            if (proof.Outcome is AccessOutcome.NotAnAccess or AccessOutcome.Unreachable)
            {
                regions[pc] = program.Analysis.RegionOf(pc);
                continue;
            }

            if (trusted && proof.Outcome == AccessOutcome.Proven && Trusted(proof.Region, layout))
            {
                proven[pc] = true;
                count++;
            }

            regions[pc] = proof.Region switch
            {
                ValueKind.Stack => AccessRegion.Stack,
                ValueKind.Input => layout is null ? AccessRegion.Context : AccessRegion.Input,
                ValueKind.PacketMeta when layout is not null => AccessRegion.Input,
                ValueKind.Context when layout is not null => AccessRegion.Context,
                _ => program.Analysis.RegionOf(pc),
            };
        }

        return new CheckPlan(program, proven, regions, count, options.StackSize, guardLoops: forcedChecks == 0);
    }

    /// <summary>
    /// Whether a compilation of <paramref name="program"/> with <paramref name="options"/> analyses it and uses the proof
    /// (unless <see cref="ForceChecks"/> or an error says otherwise): memory checks on, and a verifying mode (which has
    /// paid for the analysis whatever the length) or a program of at most <see cref="MaxAnalyzedSlots"/> slots.
    /// </summary>
    internal static bool UsesProof(EbpfProgram program, ExecutionOptions options) =>
        options.MemoryChecks && (options.Verification != VerificationMode.Structural || program.Length <= MaxAnalyzedSlots);

    /// <summary>True while this thread is inside <see cref="ForceChecks"/>: plans made now use no proof.</summary>
    internal static bool ChecksForced => forcedChecks != 0;

    /// <summary>
    /// Whether a proof about <paramref name="region"/> is used: the input, the stack, map values and global data always;
    /// with an entry context (<see cref="ExecutionOptions.EntryContext"/>, whose host guarantees r1 and the packet
    /// pointers) also the context and the packet metadata, and, when the context has a socket
    /// (<see cref="ContextLayout.Socket"/>), the socket's fields (the host guarantees that a socket field, and every
    /// helper that returns a socket, gives its socket or null).
    /// </summary>
    internal static bool Trusted(ValueKind region, ContextLayout? layout) =>
        region is ValueKind.Input or ValueKind.Stack or ValueKind.MapValue or ValueKind.Global
        || (layout is not null && region is ValueKind.Context or ValueKind.PacketMeta)
        || (layout?.Socket is not null && region is ValueKind.Socket or ValueKind.FullSocket);

    /// <summary>
    /// Until the result is disposed, plans made on this thread check every access (the proof is not used and no loop is
    /// guarded). For tests that run proven accesses with their checks on, to see that none ever trips, and for comparing
    /// the compilation that uses the proof and the guards with the one that checks everything.
    /// </summary>
    public static IDisposable ForceChecks()
    {
        forcedChecks++;
        return new ForcedChecksScope();
    }

    /// <summary>True when the access at <paramref name="pc"/> needs no run-time check: it is proven in bounds.</summary>
    public bool IsProven(int pc) => proven is not null && proven[pc];

    /// <summary>
    /// The region the checked access at <paramref name="pc"/> is compared against inline: the one the analysis says its
    /// base points into (the stack, or what r1 pointed at on entry) when it knows, else <see cref="AnalysisResults.RegionOf"/>'s guess.
    /// </summary>
    public AccessRegion RegionOf(int pc) => regions is not null ? regions[pc] : program.Analysis.RegionOf(pc);

    private sealed class ForcedChecksScope : IDisposable
    {
        private bool disposed;

        public void Dispose()
        {
            if (!disposed)
            {
                disposed = true;
                forcedChecks--;
            }
        }
    }
}
