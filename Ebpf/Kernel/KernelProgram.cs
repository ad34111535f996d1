using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Kernel;

/// <summary>
/// A program written for the Linux kernel (XDP, tc classifier or socket filter), prepared as the kernel prepares it:
/// its type comes from its ELF section (or is given), its context loads of the packet pointers are rewritten to the
/// 64-bit pointers of the context the runs give it, the packet helpers of its type are registered, and a helper it
/// calls that is not implemented is a load error naming it. <see cref="TestRun"/> then runs it on a packet like the
/// kernel's <c>BPF_PROG_TEST_RUN</c>: verdict, output packet and (through the runtime's maps) map state.
/// Test runs of one program are serialised; dispose it before its runtime.
/// </summary>
public sealed class KernelProgram : IDisposable
{
    private const string TypeProperty = "Ebpf.Kernel.ProgramType";
    private readonly object gate = new();
    private readonly PacketRun run;
    private readonly ICompiledProgram compiled;

    private KernelProgram(ElfRuntime? runtime, KernelProgramType type, EbpfProgram program, ICompiledProgram compiled, int rewritten)
    {
        Runtime = runtime;
        Type = type;
        Program = program;
        this.compiled = compiled;
        RewrittenLoads = rewritten;
        run = new PacketRun(type);
    }

    /// <summary>The runtime the program's maps live in; null for a program loaded from bytecode (<see cref="Load(EbpfProgram, KernelProgramType, ProgramEnvironment, IExecutionEngine, ExecutionOptions?, IVerifier?)"/>).</summary>
    public ElfRuntime? Runtime { get; }

    /// <summary>The environment the program runs in (its helpers, with the packet helpers of its type, and its maps).</summary>
    public ProgramEnvironment Environment => compiled.Environment;

    /// <summary>The program type.</summary>
    public KernelProgramType Type { get; }

    /// <summary>The program as it runs (context loads rewritten).</summary>
    public EbpfProgram Program { get; }

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
    /// <exception cref="EbpfTestRunException">The section names no kernel type and none is given, the runtime already serves another type, or the program calls a helper that is not implemented for its type.</exception>
    /// <exception cref="EbpfException">The program cannot be linked, verified or compiled.</exception>
    public static KernelProgram Load(ElfRuntime runtime, IExecutionEngine engine, string? name = null, KernelProgramType? type = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(engine);
        var linked = runtime.GetProgram(name);
        var programType = type ?? KernelProgramTypes.FromSection(linked.Section)
            ?? throw new EbpfTestRunException($"program '{linked.Name}' is in section '{linked.Section}', which names no kernel program type (xdp, tc, classifier, socket); give the type explicitly");
        return Prepare(runtime, linked, programType, runtime.Environment, engine, options, runtime.Options.Verifier ?? ElfRuntimeOptions.DefaultVerifier);
    }

    /// <summary>
    /// Prepares <paramref name="program"/> (assembled, built or decoded bytecode rather than an ELF object) as a program
    /// of <paramref name="type"/> and compiles it with <paramref name="engine"/>. <paramref name="environment"/> gets the
    /// packet helpers of the type, so one environment serves programs of one type; its maps are the program's maps.
    /// </summary>
    /// <param name="program">The program as written for the kernel (context loads of the 32-bit packet fields).</param>
    /// <param name="type">The program type, which fixes its context.</param>
    /// <param name="environment">Its helpers and maps (e.g. <see cref="Helpers.LinuxHelpers"/> registered).</param>
    /// <param name="engine">The engine to run on.</param>
    /// <param name="options">Execution options (memory checks, budget, timeout).</param>
    /// <param name="verifier">Verifies the program with its context loads rewritten (default: <see cref="Verification.Verifier.Default"/>).</param>
    /// <exception cref="EbpfTestRunException">The environment already serves another type, the program calls a helper that is not implemented for its type, or it writes a packet pointer field.</exception>
    /// <exception cref="EbpfException">The rewritten program cannot be verified or compiled.</exception>
    public static KernelProgram Load(EbpfProgram program, KernelProgramType type, ProgramEnvironment environment, IExecutionEngine engine, ExecutionOptions? options = null, IVerifier? verifier = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(engine);
        if (!Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a kernel program type");
        }

        return Prepare(null, program, type, environment, engine, options, verifier ?? Verification.Verifier.Default);
    }

    /// <summary>
    /// Runs the program on <paramref name="packet"/> (an Ethernet frame) <see cref="TestRunOptions.Repeat"/> times, as
    /// the kernel's test run does: XDP packets get 256 bytes of headroom and a page-sized frame, socket buffers the
    /// loopback device's fields. Map changes stay in the runtime's maps.
    /// </summary>
    /// <exception cref="EbpfTestRunException">The kernel would refuse the packet (shorter than an Ethernet header, too long, or a truncated IP header in a socket buffer).</exception>
    /// <exception cref="EbpfRuntimeException">A run failed (memory violation, helper failure, cancellation...).</exception>
    public TestRunResult TestRun(ReadOnlySpan<byte> packet, TestRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= TestRunOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeat, 1, nameof(options));
        lock (gate)
        {
            run.Load(packet, options);
            var previous = PacketRun.Current;
            PacketRun.Current = run;
            ulong result = 0;
            long started = ThreadClock.Now();
            try
            {
                for (int i = 0; i < options.Repeat; i++)
                {
                    result = compiled.Run(run.InputMemory, run.Context, cancellationToken);
                }
            }
            finally
            {
                PacketRun.Current = previous;
            }

            long nanoseconds = (long)Math.Round((ThreadClock.Now() - started) / (double)options.Repeat);
            var context = run.Context[..NativeContext.PointersOffset(Type)].ToArray();
            ClearPointerFields(context);
            return new TestRunResult((uint)result, run.Output(), nanoseconds, run.Redirect, context);
        }
    }

    /// <summary>Releases the compiled program and the packet buffer.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            compiled.Dispose();
            run.Dispose();
        }
    }

    private static KernelProgram Prepare(ElfRuntime? runtime, EbpfProgram linked, KernelProgramType programType, ProgramEnvironment environment, IExecutionEngine engine, ExecutionOptions? options, IVerifier verifier)
    {
        options ??= ExecutionOptions.Default;
        lock (environment.Properties)
        {
            if (environment.Properties.TryGetValue(TypeProperty, out var existing) && (KernelProgramType)existing != programType)
            {
                throw new EbpfTestRunException($"this environment serves {existing} programs; load the {programType} program '{linked.Name}' into {(runtime is null ? "an environment" : "a runtime")} of its own");
            }

            if (existing is null)
            {
                environment.Properties[TypeProperty] = programType;
                PacketHelpers.Register(environment.Helpers, programType);
            }
        }

        CheckHelpers(linked, environment, programType);
        var (program, rewritten) = ContextRewriter.Rewrite(linked, programType, environment, options, verifier);
        return new KernelProgram(runtime, programType, program, engine.Compile(program, environment, options), rewritten);
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

    private void ClearPointerFields(Span<byte> context)
    {
        foreach (int offset in Type == KernelProgramType.Xdp ? [0, 4, 8] : (int[])[SkBuffFields.Data, SkBuffFields.DataEnd, SkBuffFields.DataMeta])
        {
            context.Slice(offset, 4).Clear();
        }
    }
}
