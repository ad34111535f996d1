using Ebpf.Verification;

namespace Ebpf;

/// <summary>How a program is compiled and run. Immutable; the defaults are the safe ones.</summary>
public sealed record ExecutionOptions
{
    /// <summary>
    /// The default options: 512-byte frames, 8 frames, no budget, no timeout, a <see cref="RunTimeLimit"/> of
    /// <see cref="DefaultRunTimeLimit"/>, memory checks on, <see cref="VerificationMode.Hybrid"/> verification.
    /// </summary>
    public static ExecutionOptions Default { get; } = new();

    /// <summary>The bytes of stack per frame (a multiple of 8, from 8 to 65,536). Default 512.</summary>
    public int StackSize { get; init; } = 512;

    /// <summary>The maximum number of frames (the entry function counts as one), from 1 to 64. Default 8.</summary>
    public int MaxCallDepth { get; init; } = 8;

    /// <summary>
    /// The most instructions a run may execute (those of called local functions included, an <c>lddw</c> counting
    /// once), or null for no limit. Exact in every engine: a run that would execute one more stops with an
    /// <see cref="EbpfBudgetExceededException"/> at that instruction, the same pc in every engine. (The JIT engines
    /// charge whole straight-line segments at once, see <see cref="Analysis.BudgetSegments"/>, and recover the exact pc
    /// when a segment does not fit.)
    /// </summary>
    public long? InstructionBudget { get; init; }

    /// <summary>
    /// The longest one run may take, or null for no limit (the default, which costs nothing). When it passes, the run
    /// stops within about a millisecond with <see cref="EbpfRunCancelledException"/> (<see cref="RuntimeErrorKind.TimedOut"/>),
    /// in every engine and even in a tight loop. A timer is armed per run, which costs a few hundred nanoseconds: for
    /// very short programs prefer <see cref="InstructionBudget"/> or a <see cref="CancellationToken"/> shared by many
    /// runs. Every run also has the coarse <see cref="RunTimeLimit"/> safety net (10 seconds by default), which costs
    /// nothing per run; the <c>ebpf</c> tool's <c>--timeout</c> sets this option instead (10 seconds by default).
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The largest <see cref="Timeout"/> accepted (what a timer supports: about 49 days).</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// The safety net against a run that never ends: a run older than this is stopped with
    /// <see cref="EbpfRunCancelledException"/> (<see cref="RuntimeErrorKind.TimedOut"/>,
    /// <see cref="EbpfRunCancelledException.RunTimeLimitExceeded"/> true), in every engine, in a tight loop, in a called
    /// function and after tail calls (the limit of the program the run started with covers its tail calls). On by
    /// default (<see cref="DefaultRunTimeLimit"/>, 10 seconds); null or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// turns it off. Unlike <see cref="Timeout"/> it costs nothing per run: one background watchdog thread per process
    /// (started with the first program that has a limit) looks at the runs of every thread a few times per limit
    /// (every limit / 10, at most every 100 ms) and stops those that have run for longer, so a run stops between the
    /// limit and about 1.1 times the limit after it started. Not a precise timeout: use <see cref="Timeout"/> or a
    /// <see cref="CancellationToken"/> for that. A run nested in another (started by a helper) or with a stack area
    /// larger than 64 KiB is stopped by a per-run timer set to this limit instead; a run with an
    /// <see cref="Diagnostics.IInstructionObserver"/> (a debugger may pause it) is not limited. A program of
    /// straight-line code without calls (no helper or local call, no backward jump, at most 4,096 slots) runs at most as
    /// many instructions as it has slots, microseconds: on the interpreter and the IL engine its runs are not watched
    /// at all (the limit holds at their start, and no run of it can outlast it by more than those instructions). A
    /// program with loops that calls nothing, writes no memory and does not use r10 (one function) runs on the IL and
    /// x64 engines first unwatched for at most 128 backward jumps, and is then run again from its start on the watched
    /// path (its abandoned attempt left nothing behind): the limit's clock starts that much later.
    /// </summary>
    public TimeSpan? RunTimeLimit { get; init; } = DefaultRunTimeLimit;

    /// <summary>The default <see cref="RunTimeLimit"/>: 10 seconds (the <c>ebpf</c> tool's default <c>--timeout</c> too).</summary>
    public static TimeSpan DefaultRunTimeLimit => TimeSpan.FromSeconds(10);

    /// <summary>The <see cref="RunTimeLimit"/> in force: null when there is none (null or infinite).</summary>
    internal TimeSpan? EffectiveRunTimeLimit => RunTimeLimit == System.Threading.Timeout.InfiniteTimeSpan ? null : RunTimeLimit;

    /// <summary>
    /// Whether every load, store and atomic is checked against the run's regions. On by default. Turning it off in
    /// the JIT engines removes the checks from the generated code: a faulty or hostile program can then read or
    /// write any host memory and crash the process. Only for trusted programs. The interpreter always checks.
    /// </summary>
    public bool MemoryChecks { get; init; } = true;

    /// <summary>Whether pointer arguments of helpers are checked against the run's regions. On by default.</summary>
    public bool HelperArgumentChecks { get; init; } = true;

    /// <summary>
    /// What the safety analysis must accept before the program is compiled. <see cref="VerificationMode.Hybrid"/> (the
    /// default) rejects a program with a definite error (a register or stack byte read before it is written, an access
    /// outside its region on every path, a helper argument of the wrong kind) and keeps run-time checks for what it cannot
    /// prove; <see cref="VerificationMode.Strict"/> also rejects every access it does not prove (kernel-like);
    /// <see cref="VerificationMode.Structural"/> demands no proof (only the structural rules, as before the hybrid
    /// default). Every engine's compilation runs the analysis once under its own environment and options (its helpers
    /// and their signatures, map shapes, stack size, call depth) and uses the same result for the refusal and for
    /// dropping the checks of proven accesses; a refusal is an <see cref="EbpfVerificationException"/> naming the pc,
    /// the instruction and why. Programs of any length are analysed (linear time and memory, about 1 KB per slot while
    /// it runs); with <see cref="VerificationMode.Structural"/> and memory checks off the analysis is not run at all.
    /// </summary>
    public VerificationMode Verification { get; init; } = VerificationMode.Hybrid;

    /// <summary>
    /// The layout of the context every run of the program gets in r1 (the run's metadata), or null for the raw memory
    /// model (r1 points at the input or the metadata, r2 holds its length). With one, the engines compile with the proof the safety analysis
    /// makes under that layout: proven context and packet accesses run without checks. Internal because it is a promise
    /// only a host that builds the context itself can keep: r1 points at <see cref="Analysis.ContextLayout.Size"/> bytes
    /// whose packet fields hold the packet's 64-bit addresses inside the run's input, which nothing but the helpers
    /// that declare <see cref="Helpers.HelperSignature.ChangesPacketData"/> changes during a run (the kernel programs
    /// of <c>Ebpf.Kernel</c> keep the pointers outside every region a program may write). A tail call enters only a
    /// program compiled for the same layout (see <see cref="Helpers.HelperContext.TailCall"/>).
    /// </summary>
    internal Analysis.ContextLayout? EntryContext { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public ExecutionOptions Validate()
    {
        if (StackSize < 8 || StackSize > 65536 || StackSize % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StackSize), StackSize, "StackSize must be a multiple of 8 from 8 to 65536");
        }

        if (MaxCallDepth < 1 || MaxCallDepth > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCallDepth), MaxCallDepth, "MaxCallDepth must be from 1 to 64");
        }

        if (InstructionBudget is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(InstructionBudget), InstructionBudget, "InstructionBudget must be positive (or null for no limit)");
        }

        if (Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxTimeout))
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), timeout, "Timeout must be positive and at most MaxTimeout (or null for no limit)");
        }

        if (RunTimeLimit is { } limit && limit != System.Threading.Timeout.InfiniteTimeSpan && (limit <= TimeSpan.Zero || limit > MaxTimeout))
        {
            throw new ArgumentOutOfRangeException(nameof(RunTimeLimit), limit, "RunTimeLimit must be positive and at most MaxTimeout (or null or Timeout.InfiniteTimeSpan for no limit)");
        }

        if (!Enum.IsDefined(Verification))
        {
            throw new ArgumentOutOfRangeException(nameof(Verification), Verification, "Verification must be Hybrid, Strict or Structural");
        }

        return this;
    }
}
