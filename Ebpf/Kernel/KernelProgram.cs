using Ebpf.Diagnostics;
using Ebpf.Elf;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Kernel;

/// <summary>
/// A program written for the Linux kernel (XDP, tc classifier or socket filter), prepared as the kernel prepares it:
/// its type comes from its ELF section (or is given), its context loads of the packet pointers are rewritten to the
/// 64-bit pointers of the context the runs give it, the packet helpers of its type are registered, and a helper it
/// calls that is not implemented is a load error naming it. It is compiled with the layout of the context its runs get
/// (<see cref="Options"/>), so every engine runs the packet and context accesses the safety analysis proves (as
/// <see cref="AnalysisContext"/> analyses the program) without checks. <see cref="TestRun"/> then runs it on a packet like the
/// kernel's <c>BPF_PROG_TEST_RUN</c>: verdict, output packet and (through the runtime's maps) map state.
/// Test runs of one program are serialised; dispose it before its runtime.
/// </summary>
public sealed class KernelProgram : IDisposable
{
    private const string TypeProperty = "Ebpf.Kernel.ProgramType";
    private readonly object gate = new();
    private readonly PacketRun run;
    private readonly ICompiledProgram compiled;
    private readonly IExecutionEngine engine;
    private readonly ExecutionOptions options;

    /// <summary>
    /// Whether every run ends by itself or in a tail call (see <see cref="RunLength"/>): repeated runs then poll the
    /// token between runs when the tail calls' targets end by themselves too (see <see cref="TargetsBounded"/>).
    /// </summary>
    private readonly bool bounded;

    /// <summary>Whether the program calls <c>bpf_tail_call</c>.</summary>
    private readonly bool tailCalls;

    /// <summary>What <see cref="RunLength"/> found for the tail-call targets met so far (under <see cref="gate"/>).</summary>
    private readonly Dictionary<EbpfProgram, bool> targetBounds = new(ReferenceEqualityComparer.Instance);

    /// <summary>The expected attach type of an XDP program that runs from a device or CPU map (which the kernel's test run refuses), null for others.</summary>
    private readonly string? mapAttachType;

    /// <summary>The scratch copy single runs are timed on (see <see cref="TestRunOptions.WarmUp"/>), made at the first such run.</summary>
    private ScratchCopy? scratch;

    /// <summary>Whether a long repeated test run has warmed the run path up (see <see cref="TestRunOptions.TieringWarmUpRepeat"/>).</summary>
    private bool runPathWarm;

    private KernelProgram(ElfRuntime? runtime, KernelProgramType type, EbpfProgram program, ICompiledProgram compiled, int rewritten, IExecutionEngine engine, ExecutionOptions options)
    {
        Runtime = runtime;
        Type = type;
        Program = program;
        this.compiled = compiled;
        this.engine = engine;
        this.options = options;
        RewrittenLoads = rewritten;
        mapAttachType = type == KernelProgramType.Xdp ? KernelProgramTypes.XdpMapAttachType(program.Section) : null;
        bounded = RunLength.IsBounded(program, tailCalls: true);
        tailCalls = RunLength.CallsTail(program);
        run = new PacketRun(type);
        compiled.Environment.AddRegion(run.PointerRegion);
    }

    /// <summary>The runtime the program's maps live in; null for a program loaded from bytecode (<see cref="Load(EbpfProgram, KernelProgramType, ProgramEnvironment, IExecutionEngine, ExecutionOptions?, IVerifier?)"/>).</summary>
    public ElfRuntime? Runtime { get; }

    /// <summary>The environment the program runs in (its helpers, with the packet helpers of its type, and its maps).</summary>
    public ProgramEnvironment Environment => compiled.Environment;

    /// <summary>The program type.</summary>
    public KernelProgramType Type { get; }

    /// <summary>The program as it runs (context loads rewritten).</summary>
    public EbpfProgram Program { get; }

    /// <summary>
    /// The options it was compiled with: those given, with the layout of the context its runs get, under which the
    /// engines use the safety analysis' proof (proven packet and context accesses run without checks).
    /// </summary>
    public ExecutionOptions Options => options;

    /// <summary>The compiled program (for tests: its check statistics).</summary>
    internal ICompiledProgram Compiled => compiled;

    /// <summary>The engine it runs on.</summary>
    public string EngineName => compiled.EngineName;

    /// <summary>How many context loads of packet pointers were rewritten to 64-bit loads.</summary>
    public int RewrittenLoads { get; }

    /// <summary>
    /// Loads program <paramref name="name"/> (function or section; null for the object's first) of the runtime's object
    /// and compiles it with <paramref name="engine"/>. The runtime's environment gets the packet helpers of the type:
    /// one runtime serves programs of one type.
    /// </summary>
    /// <param name="runtime">The runtime of the ELF object (its maps).</param>
    /// <param name="engine">The engine to run on.</param>
    /// <param name="name">The program's function or section name.</param>
    /// <param name="type">The type; null takes it from the section name (libbpf's conventions, see <see cref="KernelProgramTypes.FromSection"/>).</param>
    /// <param name="options">Execution options (memory checks, budget, timeout).</param>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined type, the section names no kernel type and none is given, the runtime already serves another type, or the program calls a helper that is not implemented for its type.</exception>
    /// <exception cref="EbpfException">The program cannot be linked, verified or compiled.</exception>
    public static KernelProgram Load(ElfRuntime runtime, IExecutionEngine engine, string? name = null, KernelProgramType? type = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(engine);
        var linked = runtime.GetProgram(name);
        var programType = type is { } given ? KernelProgramTypes.Checked(given) : KernelProgramTypes.FromSection(linked.Section)
            ?? throw new EbpfTestRunException($"program '{linked.Name}' is in section '{linked.Section}', which names no kernel program type (xdp, tc, classifier, socket); give the type explicitly");
        options = WithContext(options, programType);
        var environment = runtime.Environment;
        Claim(environment, programType, $"program '{linked.Name}'", "a runtime");
        var verifier = runtime.Options.Verifier ?? ElfRuntimeOptions.DefaultVerifier;
        var (program, rewritten) = Prepare(linked, programType, environment, options, verifier);
        var compiled = Compile(engine, program, environment, ref options);
        try
        {
            // libbpf fills the program arrays the object initialises (.values) when it loads the object: so does this,
            // with the targets prepared for the same type (context loads rewritten) and compiled by the same engine.
            runtime.FillProgramArrays(engine, options, "kernel:" + programType, target => PrepareTailTarget(runtime, target, programType, environment, options, verifier));
            return new KernelProgram(runtime, programType, program, compiled, rewritten, engine, options);
        }
        catch
        {
            compiled.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Prepares <paramref name="program"/> (assembled, built or decoded bytecode rather than an ELF object) as a program
    /// of <paramref name="type"/> and compiles it with <paramref name="engine"/>. <paramref name="environment"/> gets the
    /// packet helpers of the type, so one environment serves programs of one type; its maps are the program's maps.
    /// Single test runs are timed as they run (there is no object to make a scratch copy from, see
    /// <see cref="TestRunOptions.WarmUp"/>).
    /// </summary>
    /// <param name="program">The program as written for the kernel (context loads of the 32-bit packet fields).</param>
    /// <param name="type">The program type, which fixes its context.</param>
    /// <param name="environment">Its helpers and maps (e.g. <see cref="LinuxHelpers"/> registered).</param>
    /// <param name="engine">The engine to run on.</param>
    /// <param name="options">Execution options (memory checks, budget, timeout).</param>
    /// <param name="verifier">Verifies the program with its context loads rewritten (default: <see cref="Verification.Verifier.Default"/>).</param>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined type, the environment already serves another type, the program calls a helper that is not implemented for its type, or it writes a packet pointer field.</exception>
    /// <exception cref="EbpfException">The rewritten program cannot be verified or compiled.</exception>
    public static KernelProgram Load(EbpfProgram program, KernelProgramType type, ProgramEnvironment environment, IExecutionEngine engine, ExecutionOptions? options = null, IVerifier? verifier = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(engine);
        KernelProgramTypes.Checked(type);

        options = WithContext(options, type);
        Claim(environment, type, $"program '{program.Name}'", "an environment");
        var (prepared, rewritten) = Prepare(program, type, environment, options, verifier ?? Verification.Verifier.Default);
        var compiled = Compile(engine, prepared, environment, ref options);
        return new KernelProgram(null, type, prepared, compiled, rewritten, engine, options);
    }

    /// <summary>
    /// What the safety analysis assumes about a program of <paramref name="type"/> as written for the kernel (before its
    /// context loads are rewritten): the type's context layout (<see cref="KernelContextLayouts.For"/>), the helpers of
    /// <paramref name="environment"/> with the type's packet helpers and its maps. The environment gets the type's packet
    /// helpers as <see cref="Load(ElfRuntime, IExecutionEngine, string?, KernelProgramType?, ExecutionOptions?)"/> gives
    /// them, so it serves programs of that type from then on. <c>ebpf verify --type</c> analyses with this; so does the
    /// engines' compilation of a loaded program (with the layout of the context its runs get).
    /// </summary>
    /// <param name="environment">The program's environment (e.g. an <see cref="ElfRuntime"/>'s).</param>
    /// <param name="type">The program type.</param>
    /// <param name="options">The stack size and call depth the program will run with (default: <see cref="ExecutionOptions.Default"/>).</param>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined type, or the environment already serves programs of another type.</exception>
    public static Analysis.SafetyContext AnalysisContext(ProgramEnvironment environment, KernelProgramType type, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        KernelProgramTypes.Checked(type);

        Claim(environment, type, "a program", "an environment");
        return Analysis.SafetyContext.For(environment, options, KernelContextLayouts.For(type));
    }

    /// <summary>
    /// What loading <paramref name="program"/> (as written, before its context loads are rewritten) as a program of
    /// <paramref name="type"/> refuses as the kernel's verifier refuses it, whether or not the safety analysis reports an
    /// error there: the kernel verifier's load rules the analysis finds (<see cref="Analysis.SafetyAnalysis.LoadRefusals"/>:
    /// a ring buffer record still owned at exit or at a tail call, a callback context that is neither the stack nor
    /// null), then the context accesses the type refuses (a socket filter's packet pointers, <c>tc_classid</c>,
    /// <c>tstamp</c>, <c>wire_len</c>, <c>hwtstamp</c>; an XDP program's <c>egress_ifindex</c> unless its section makes it
    /// a devmap program; any access past the uapi structure, misaligned, of a size the field does not allow, or storing
    /// to a read-only field), each at its pc with the kernel's "invalid bpf_context access off=N size=N" and why. Empty
    /// when no such rule refuses the program (the analysis' own errors are not listed).
    /// <c>Load</c> throws <see cref="EbpfTestRunException"/> naming the first; <c>ebpf verify</c> reports them all.
    /// </summary>
    /// <param name="program">The program as written for the kernel (its section decides whether an XDP program is a devmap program).</param>
    /// <param name="type">The program type.</param>
    /// <param name="analysis">Its safety analysis with <see cref="AnalysisContext"/> of the same type.</param>
    /// <exception cref="EbpfTestRunException"><paramref name="type"/> is not a defined type.</exception>
    public static IReadOnlyList<Analysis.SafetyFinding> LoadRefusals(EbpfProgram program, KernelProgramType type, Analysis.SafetyAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(analysis);
        return ContextRewriter.Refusals(program, KernelProgramTypes.Checked(type), analysis);
    }

    /// <summary>
    /// The errors of <paramref name="analysis"/> that <paramref name="refusals"/> (from <see cref="LoadRefusals"/> on the
    /// same analysis) do not already say: a context or socket access the load refuses is one the analysis refutes too,
    /// and its refusal is the kernel's word for it. For reporting each problem once, as <c>ebpf verify</c> does.
    /// </summary>
    /// <param name="analysis">The program's safety analysis.</param>
    /// <param name="refusals">The load refusals of the same program and analysis.</param>
    public static IReadOnlyList<Analysis.SafetyFinding> ErrorsBesidesRefusals(Analysis.SafetyAnalysis analysis, IReadOnlyList<Analysis.SafetyFinding> refusals)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(refusals);
        var refused = refusals.Select(r => r.Pc).ToHashSet();
        return analysis.Errors
            .Where(e => !(refused.Contains(e.Pc)
                && analysis.Access(e.Pc) is { Outcome: Analysis.AccessOutcome.Refuted } access
                && (access.Region == Analysis.ValueKind.Context || Analysis.AbstractValue.IsSocket(access.Region))))
            .ToList();
    }

    /// <summary>
    /// Runs the program on <paramref name="packet"/> (an Ethernet frame) <see cref="TestRunOptions.Repeat"/> times, as
    /// the kernel's test run does: XDP packets get 256 bytes of headroom and a page-sized frame, socket buffers the
    /// loopback device's fields. Map changes stay in the runtime's maps. The packet is copied and the context written
    /// once; the runs then repeat on that state, as in the kernel. How the time is taken: see
    /// <see cref="TestRunOptions.WarmUp"/>.
    /// </summary>
    /// <exception cref="EbpfTestRunException">The kernel would refuse the packet (shorter than an Ethernet header, too long, or a truncated IP header in a socket buffer), the context in (see <see cref="TestRunOptions.XdpContextIn"/> and <see cref="TestRunOptions.SkbContextIn"/>), or the program (an XDP program of a device or CPU map: section <c>xdp/devmap</c>, <c>xdp/cpumap</c> and their <c>xdp.frags</c> forms).</exception>
    /// <exception cref="EbpfRunCancelledException"><paramref name="cancellationToken"/> was cancelled (during a run, or between two runs of a repeated test run).</exception>
    /// <exception cref="EbpfRuntimeException">A run failed (memory violation, helper failure...).</exception>
    public TestRunResult TestRun(ReadOnlySpan<byte> packet, TestRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= TestRunOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeat, 1, nameof(options));
        RefuseMapProgram();
        lock (gate)
        {
            if (options.WarmUp && options.Repeat >= TestRunOptions.TieringWarmUpRepeat && !runPathWarm)
            {
                WarmUpRunPath(packet, options, cancellationToken);
                runPathWarm = true;
            }

            run.Load(packet, options);
            // A repeated run times the runs after the first few (which warm the code up); a single run, when asked, is
            // timed on the scratch copy after a warm-up there.
            int untimed = options.WarmUp ? Math.Min(options.Repeat - 1, TestRunOptions.WarmUpRuns) : 0;
            var (result, nanoseconds) = RunRepeatedly(options.Repeat, untimed, cancellationToken);
            var outcome = Outcome(result, nanoseconds);
            return options.WarmUp && options.Repeat == 1 && TimeOnScratchCopy(packet, options, cancellationToken) is { } warm
                ? outcome with { DurationNanoseconds = warm }
                : outcome;
        }
    }

    /// <summary>
    /// One test run on <paramref name="packet"/> (the default <see cref="TestRunOptions"/>, not timed) with
    /// <paramref name="observer"/> called before every instruction: for checking a run against what an analysis claims
    /// of it (the fuzzing campaign's packet-bounds oracle). Needs an engine whose programs can be observed (the
    /// interpreter).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The engine's programs cannot be observed, or the kernel would refuse the packet.</exception>
    /// <exception cref="EbpfRuntimeException">The run failed (memory violation, helper failure...).</exception>
    internal TestRunResult TestRunObserved(ReadOnlySpan<byte> packet, IInstructionObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (compiled is not IObservableProgram observable)
        {
            throw new EbpfTestRunException($"the {EngineName} engine cannot run a program under an observer (the interpreter can)");
        }

        RefuseMapProgram();

        lock (gate)
        {
            run.Load(packet, TestRunOptions.Default);
            var previous = PacketRun.Current;
            PacketRun.Current = run;
            try
            {
                return Outcome(
                    compiled is CompiledProgram own
                        ? own.RunObservedWithContext(run.InputMemory, run.ProgramContext, observer)
                        : observable.Run(run.InputMemory, run.ProgramContext, observer),
                    0);
            }
            finally
            {
                PacketRun.Current = previous;
            }
        }
    }

    /// <summary>What the last run left: its verdict, the packet, the context (pointer fields cleared), the redirect and the kernel's <c>ctx_out</c> when a context went in (see <see cref="XdpMd.Out"/> and <see cref="SkBuffIn.Out"/>).</summary>
    private TestRunResult Outcome(ulong result, long nanoseconds)
    {
        var context = run.Context[..NativeContext.PointersOffset(Type)].ToArray();
        ClearPointerFields(context);
        var contextOut = Type == KernelProgramType.Xdp ? run.XdpContext?.Out(run) : run.SkbContextIn?.Out(context);
        return new TestRunResult((uint)result, run.Output(), nanoseconds, run.Redirect, context, contextOut);
    }

    /// <summary>Releases the compiled program, the packet buffer and the scratch copy.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            compiled.Dispose();
            compiled.Environment.RemoveRegion(run.PointerRegion);
            run.Dispose();
            scratch?.Dispose();
            scratch = null;
        }
    }

    /// <summary>
    /// Runs the loaded packet <paramref name="repeat"/> times; returns the last r0 and the mean CPU time of the runs
    /// after the first <paramref name="untimed"/>. A bounded program (see <see cref="RunLength"/>) whose tail-call
    /// targets are bounded too runs without a token and the token is looked at between runs; another registers the
    /// token with each run, so that a run that loops can be stopped.
    /// </summary>
    private (ulong Result, long Nanoseconds) RunRepeatedly(int repeat, int untimed, CancellationToken cancellationToken)
    {
        var previous = PacketRun.Current;
        PacketRun.Current = run;
        try
        {
            var memory = run.InputMemory;
            var context = run.ProgramContext;
            bool poll = !cancellationToken.CanBeCanceled || (bounded && (!tailCalls || TargetsBounded()));
            if (poll && compiled is CompiledProgram own)
            {
                // The engine's loop (see CompiledProgram.RunRepeatedWithContext): the token looked at before each run.
                own.RunRepeatedWithContext(memory, context, untimed, cancellationToken);
                long begun = ThreadClock.Now();
                ulong last = own.RunRepeatedWithContext(memory, context, repeat - untimed, cancellationToken);
                return (last, (long)Math.Round((ThreadClock.Now() - begun) / (double)(repeat - untimed)));
            }

            ulong result = 0;
            for (int i = 0; i < untimed; i++)
            {
                result = RunOnce(memory, context, poll, cancellationToken);
            }

            long started = ThreadClock.Now();
            for (int i = untimed; i < repeat; i++)
            {
                result = RunOnce(memory, context, poll, cancellationToken);
            }

            return (result, (long)Math.Round((ThreadClock.Now() - started) / (double)(repeat - untimed)));
        }
        finally
        {
            PacketRun.Current = previous;
        }
    }

    /// <summary>
    /// True when every program in a program array of the environment is bounded up to its own tail calls: a run then
    /// executes at most <see cref="RunLength.MaxInstructions"/> instructions in each of at most
    /// <see cref="LinuxHelpers.MaxTailCalls"/> + 1 programs. Looked at when a test run starts (a program cannot change a
    /// program array; a host that puts a looping program into one during a test run leaves its stop to
    /// <see cref="ExecutionOptions.RunTimeLimit"/>).
    /// </summary>
    private bool TargetsBounded()
    {
        foreach (var map in Maps.MapRegistry.Find(Environment)?.Maps ?? [])
        {
            if (map is not Maps.ProgramArrayMap programs)
            {
                continue;
            }

            for (uint i = 0; i < (uint)programs.MaxEntries; i++)
            {
                if (programs.Get(i) is not { } target)
                {
                    continue;
                }

                if (!targetBounds.TryGetValue(target.Program, out bool known))
                {
                    known = RunLength.IsBounded(target.Program, tailCalls: true);
                    targetBounds[target.Program] = known;
                }

                if (!known)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private ulong RunOnce(Span<byte> memory, Span<byte> context, bool poll, CancellationToken cancellationToken)
    {
        if (poll && cancellationToken.IsCancellationRequested)
        {
            throw new EbpfRunCancelledException(0, Program.Instructions[0], null, cancellationToken);
        }

        var token = poll ? CancellationToken.None : cancellationToken;
        // This library's engines take the context-using compilation through the entry for host-built contexts; another
        // engine's program ignores the context layout (it checks every access) and runs through the public method.
        return compiled is CompiledProgram own ? own.RunWithContext(memory, context, token) : compiled.Run(memory, context, token);
    }

    /// <summary>
    /// The CPU time of one warm run of this program on <paramref name="packet"/>, taken on the scratch copy; null when
    /// the copy cannot be made or its run fails (the caller keeps the time of its own run).
    /// </summary>
    private long? TimeOnScratchCopy(ReadOnlySpan<byte> packet, TestRunOptions options, CancellationToken cancellationToken)
    {
        if (Runtime is null)
        {
            return null;
        }

        try
        {
            scratch ??= ScratchCopy.Create(Runtime, engine, Program.Name, Type, this.options);
            return scratch.Time(packet, options, cancellationToken);
        }
        catch (EbpfException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Runs the scratch copy for <see cref="TestRunOptions.TieringWarmUp"/> (see there); nothing when it cannot be made or its runs fail.</summary>
    private void WarmUpRunPath(ReadOnlySpan<byte> packet, TestRunOptions options, CancellationToken cancellationToken)
    {
        if (Runtime is null)
        {
            return;
        }

        try
        {
            scratch ??= ScratchCopy.Create(Runtime, engine, Program.Name, Type, this.options);
            scratch.WarmUpRunPath(packet, options, cancellationToken);
        }
        catch (EbpfException) when (!cancellationToken.IsCancellationRequested)
        {
            // The real runs report what went wrong; the warm-up only serves the timing.
        }
    }

    /// <summary>
    /// The options a program of <paramref name="type"/> (and its tail-call targets) is compiled with: the caller's, with
    /// the layout of the context its runs get (<see cref="KernelContextLayouts.NativeFor"/>), so that the engines drop
    /// the checks of the accesses the analysis proves against that context and its packet.
    /// </summary>
    private static ExecutionOptions WithContext(ExecutionOptions? options, KernelProgramType type) =>
        (options ?? ExecutionOptions.Default) with { EntryContext = KernelContextLayouts.NativeFor(type) };

    /// <summary>
    /// Compiles with the context layout (<paramref name="options"/> as <see cref="WithContext"/> gives them). An engine
    /// from elsewhere gets the options without it (and <paramref name="options"/> becomes those): its program may wrap
    /// one of this library's and run it through the public run methods, which refuse a program compiled for a context
    /// only its host builds; without the layout every packet access keeps its check.
    /// </summary>
    private static ICompiledProgram Compile(IExecutionEngine engine, EbpfProgram program, ProgramEnvironment environment, ref ExecutionOptions options)
    {
        var compiled = engine.Compile(program, environment, options);
        if (compiled is CompiledProgram)
        {
            return compiled;
        }

        compiled.Dispose();
        options = options with { EntryContext = null };
        return engine.Compile(program, environment, options);
    }

    /// <summary>
    /// Makes <paramref name="environment"/> serve programs of <paramref name="type"/>: the first program loaded into it
    /// registers the type's packet helpers; a program of another type is refused.
    /// </summary>
    private static void Claim(ProgramEnvironment environment, KernelProgramType type, string what, string own)
    {
        lock (environment.Properties)
        {
            if (environment.Properties.TryGetValue(TypeProperty, out var existing) && (KernelProgramType)existing != type)
            {
                throw new EbpfTestRunException($"this environment serves {existing} programs; load the {type} {what} into {own} of its own");
            }

            if (existing is null)
            {
                environment.Properties[TypeProperty] = type;
                PacketHelpers.Register(environment.Helpers, type);
            }
        }
    }

    /// <summary>Checks the helpers of a linked program of the runtime and rewrites its context loads for <paramref name="type"/>.</summary>
    private static (EbpfProgram Program, int Rewritten) Prepare(EbpfProgram linked, KernelProgramType type, ProgramEnvironment environment, ExecutionOptions options, IVerifier verifier)
    {
        CheckHelpers(linked, environment, type);
        CheckCallbacks(linked);
        return ContextRewriter.Rewrite(linked, type, environment, options, verifier);
    }

    /// <summary>A target of a statically initialised program array, prepared as a program of the caller's type.</summary>
    private static EbpfProgram PrepareTailTarget(ElfRuntime runtime, string name, KernelProgramType type, ProgramEnvironment environment, ExecutionOptions options, IVerifier verifier)
    {
        var linked = runtime.GetProgram(name);
        if (KernelProgramTypes.FromSection(linked.Section) is { } own && own != type)
        {
            throw new EbpfTestRunException($"program '{linked.Name}' (section '{linked.Section}') is of type {own}; a program array of a {type} program can only hold {type} programs, as in the kernel");
        }

        return Prepare(linked, type, environment, options, verifier).Program;
    }

    /// <summary>Every helper the program calls must be registered for its type.</summary>
    private static void CheckHelpers(EbpfProgram program, ProgramEnvironment environment, KernelProgramType type)
    {
        var missing = new SortedSet<uint>();
        foreach (var instruction in program.Instructions)
        {
            if (instruction.OpCode == OpCodes.Call && instruction.Src == 0 && !environment.Helpers.TryGet((uint)instruction.Imm, out _))
            {
                missing.Add((uint)instruction.Imm);
            }
        }

        if (missing.Count != 0)
        {
            throw new EbpfTestRunException(
                $"program '{program.Name}' calls {string.Join(", ", missing.Select(id => $"{LinuxHelperNames.Of(id) ?? "helper"} (helper {id})"))}, not implemented for {type} programs");
        }
    }

    /// <summary>
    /// Refuses a tail call in a callback (a function <c>bpf_loop</c> or <c>bpf_for_each_map_elem</c> calls back, or a
    /// function it calls), as Linux 6.18's verifier refuses it.
    /// </summary>
    private static void CheckCallbacks(EbpfProgram program)
    {
        var code = program.Decoded;
        var seen = new bool[program.Functions.Length];
        var pending = new Stack<int>();
        for (int function = 0; function < seen.Length; function++)
        {
            if (program.IsCallback(function))
            {
                seen[function] = true;
                pending.Push(function);
            }
        }

        while (pending.TryPop(out int function))
        {
            var range = program.Functions[function];
            for (int pc = range.Start; pc < range.End; pc += code[pc].Length)
            {
                if (code[pc].Operation == Operation.CallLocal && program.CallTargetFunction(pc) is var callee && !seen[callee])
                {
                    seen[callee] = true;
                    pending.Push(callee);
                }
                else if (code[pc].Operation == Operation.CallHelper && code[pc].Imm == (int)LinuxHelperIds.TailCall)
                {
                    throw new EbpfTestRunException($"program '{program.Name}' calls bpf_tail_call at pc {pc}, in a callback (a function bpf_loop or bpf_for_each_map_elem calls back): the kernel's verifier refuses such a program");
                }
            }
        }
    }

    /// <summary>The kernel's test run refuses XDP programs that run from a device or CPU map (EINVAL; checked on Linux 6.18).</summary>
    private void RefuseMapProgram()
    {
        if (mapAttachType is not null)
        {
            throw new EbpfTestRunException(
                $"program '{Program.Name}' (section '{Program.Section}') has expected attach type {mapAttachType}: it runs from a {(mapAttachType == "BPF_XDP_DEVMAP" ? "device" : "CPU")} map, and the kernel's test run refuses such programs (EINVAL)");
        }
    }

    private void ClearPointerFields(Span<byte> context)
    {
        foreach (int offset in Type == KernelProgramType.Xdp ? [0, 4, 8] : (int[])[SkBuffFields.Data, SkBuffFields.DataEnd, SkBuffFields.DataMeta])
        {
            context.Slice(offset, 4).Clear();
        }
    }
}
