using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Analysis;
using Ebpf.Kernel;

namespace Ebpf.Fuzzing;

/// <summary>
/// Runs one program on several engines and compares the outcomes with the first engine's (the reference): the same r0
/// and memory afterwards, or the same error kind at the same pc. Engines that can drop memory checks are also run
/// without them whenever the checked reference run succeeded (every access was then valid, so the result must be the
/// same). Exceptions other than the project's are not caught: they reach the caller, which reports them.
/// </summary>
public sealed class DifferentialRunner
{
    /// <summary>Where the second placement of the memory lies past a page boundary: 8-aligned, most low bits set.</summary>
    private const int ElsewhereOffset = 0xad8;

    /// <summary>Verifies the rewritten kernel programs: only the structural checks every program gets (the campaign's programs are not policy-verified).</summary>
    private static readonly IVerifier StructuralOnly = Verification.Verifier.FromDelegate(_ => null);

    /// <summary>How much deeper the stack is for the second placement (not a multiple of a page, to change low bits too).</summary>
    private const int StackShift = 4096 + 0x2d0;

    /// <summary>Creates a runner over <paramref name="engines"/>; the first is the reference.</summary>
    /// <param name="engines">At least one available engine; the interpreter first is the usual choice.</param>
    /// <exception cref="ArgumentException">No engine given.</exception>
    public DifferentialRunner(IReadOnlyList<IExecutionEngine> engines)
    {
        ArgumentNullException.ThrowIfNull(engines);
        if (engines.Count == 0)
        {
            throw new ArgumentException("at least one engine is needed", nameof(engines));
        }

        Engines = engines;
    }

    /// <summary>The engines compared; the first is the reference.</summary>
    public IReadOnlyList<IExecutionEngine> Engines { get; }

    /// <summary>
    /// When true, the reference runs a second time with its memory and stack elsewhere; a program whose outcome changes
    /// (it exposes a host address) is not compared. Needed for arbitrary programs, not for generated ones that never
    /// move an address into data.
    /// </summary>
    public bool CheckAddressIndependence { get; init; }

    /// <summary>
    /// When true, every run the engines are compared on compiles each access with its check (the proof is not used:
    /// <see cref="Analysis.CheckPlan.ForceChecks"/>), and when the engines would compile some access without its check
    /// (the safety analysis proves it, or a loop guard covers it in the loop's unchecked copy: <see cref="Analysis.CheckPlan.DroppedCount"/>),
    /// each engine also runs the compilation that drops those checks, which must end
    /// exactly as the reference with every check on (same r0 and memory, or the same error at the same pc): a wrong
    /// proof that lets an access through shows as a mismatch instead of a tripped check.
    /// </summary>
    public bool CheckProofUse { get; init; }

    /// <summary>Runs <paramref name="generated"/> on every engine and compares: through <see cref="KernelProgram"/> when it is a kernel program, on its raw memory otherwise.</summary>
    /// <param name="generated">The program, its input, environment and options.</param>
    public DifferentialVerdict Compare(DifferentialCase generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        return generated.KernelType is { } type
            ? CompareKernel(generated.Program, type, generated.Input, generated.Environment, generated.Options)
            : Compare(generated.Program, generated.Input, generated.Environment, generated.Options);
    }

    /// <summary>Runs <paramref name="program"/> on every engine and compares.</summary>
    /// <param name="program">A loaded program.</param>
    /// <param name="input">The memory it runs on (each run gets a fresh copy, at the same address for every engine).</param>
    /// <param name="environment">Helpers and regions.</param>
    /// <param name="options">Budget and checks; memory checks should be on.</param>
    public unsafe DifferentialVerdict Compare(EbpfProgram program, byte[] input, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);

        // Every engine's run gets its memory at the same address, so that a program whose path depends on that address
        // takes the same path everywhere; the second placement (other low bits, a deeper stack) finds such programs.
        nuint page = (nuint)System.Environment.SystemPageSize;
        nuint span = ((nuint)input.Length + page - 1) / page * page;
        byte* block = (byte*)NativeMemory.AlignedAlloc((2 * span) + (2 * page), page);
        try
        {
            byte* here = block;
            byte* elsewhere = block + span + page + ElsewhereOffset;
            return CompareRuns(
                (engine, runOptions) => RunAt(engine, program, input, here, environment, runOptions),
                expected => OutcomeElsewhere(Engines[0], program, input, elsewhere, environment, options) == expected,
                () => (program, options),
                environment,
                options);
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
    }

    /// <summary>
    /// Loads <paramref name="program"/> as a kernel program of <paramref name="type"/> on every engine
    /// (<see cref="KernelProgram.Load(EbpfProgram, KernelProgramType, ProgramEnvironment, IExecutionEngine, ExecutionOptions?, IVerifier?)"/>:
    /// context loads rewritten, the type's packet helpers) and compares one test run on <paramref name="packet"/>: the
    /// verdict, the packet afterwards, the redirect and the context, or the error kind and pc (a packet or program the
    /// kernel refuses is an outcome too).
    /// </summary>
    /// <param name="program">The program as written for the kernel.</param>
    /// <param name="type">Its type.</param>
    /// <param name="packet">The Ethernet frame it runs on.</param>
    /// <param name="environment">Its helpers and maps; serves programs of this type only.</param>
    /// <param name="options">Budget and checks; memory checks should be on.</param>
    public DifferentialVerdict CompareKernel(EbpfProgram program, KernelProgramType type, byte[] packet, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(packet);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        (EbpfProgram Program, ExecutionOptions Options)? rewritten = null;
        return CompareRuns(
            (engine, runOptions) => RunKernel(engine, program, type, packet, environment, runOptions, ref rewritten),
            expected => RunKernel(Engines[0], program, type, packet, environment, options, ref rewritten).Outcome == expected,
            () => rewritten,
            environment,
            options);
    }

    /// <summary>
    /// The comparison both kinds of program share: the reference's run, the others' (checked; with the proof used when
    /// <see cref="CheckProofUse"/> and the compilation drops a check; unchecked after a successful reference run).
    /// </summary>
    /// <param name="run">One run on an engine with options.</param>
    /// <param name="independent">Whether the reference's outcome is the same with the memory elsewhere.</param>
    /// <param name="compiled">The program as the engines compile it and the options they compile it with (a kernel
    /// program's carry its context layout), once the reference has run (null: not loaded).</param>
    /// <param name="environment">Helpers and regions.</param>
    /// <param name="options">Budget and checks.</param>
    private DifferentialVerdict CompareRuns(Func<IExecutionEngine, ExecutionOptions, RunOutcome> run, Func<string, bool> independent, Func<(EbpfProgram Program, ExecutionOptions Options)?> compiled, ProgramEnvironment environment, ExecutionOptions options)
    {
        var (expected, violationPc) = Forced(() => run(Engines[0], options));
        if (CheckAddressIndependence && !Forced(() => independent(expected)))
        {
            return new DifferentialVerdict(false, expected, null);
        }

        int dropped = CheckProofUse && compiled() is { } plan && options.MemoryChecks ? CheckPlan.Create(plan.Program, environment, plan.Options).DroppedCount : 0;
        bool succeeded = expected.StartsWith("r0=", StringComparison.Ordinal) || expected.StartsWith("retval=", StringComparison.Ordinal);
        string? mismatch = null;
        foreach (var engine in Engines)
        {
            mismatch = (engine != Engines[0] ? Disagreement(engine.Name, expected, Forced(() => run(engine, options)).Outcome) : null)
                ?? (dropped > 0 ? Disagreement($"{engine.Name} with the proof used ({dropped} checks dropped)", expected, run(engine, options).Outcome) : null)
                ?? (succeeded && engine.Capabilities.HasFlag(EngineCapabilities.CanDisableMemoryChecks)
                    ? Disagreement(engine.Name + " without memory checks", expected, run(engine, options with { MemoryChecks = false }).Outcome)
                    : null);
            if (mismatch is not null)
            {
                break;
            }
        }

        return new DifferentialVerdict(true, expected, mismatch) { ReferenceViolationPc = violationPc, DroppedChecks = dropped };
    }

    /// <summary>Runs <paramref name="step"/> with every check forced on when <see cref="CheckProofUse"/>.</summary>
    private T Forced<T>(Func<T> step)
    {
        using var forced = CheckProofUse ? CheckPlan.ForceChecks() : null;
        return step();
    }

    /// <summary>
    /// Compiles and runs once on a copy of <paramref name="input"/>: <c>r0=0x...</c> or <c>KIND at pc N</c>, then the
    /// memory afterwards. Runtime and compilation errors are outcomes; other exceptions propagate.
    /// </summary>
    /// <param name="engine">The engine.</param>
    /// <param name="program">The program.</param>
    /// <param name="input">The memory (copied).</param>
    /// <param name="environment">Helpers and regions.</param>
    /// <param name="options">Budget and checks.</param>
    public static string Outcome(IExecutionEngine engine, EbpfProgram program, byte[] input, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        var memory = input.ToArray();
        return Run(engine, program, memory, environment, options, () => memory).Outcome;
    }

    private static unsafe string OutcomeAt(IExecutionEngine engine, EbpfProgram program, byte[] input, byte* at, ProgramEnvironment environment, ExecutionOptions options) =>
        RunAt(engine, program, input, at, environment, options).Outcome;

    /// <summary>One kernel test run: <c>retval=0x...</c> with the packet, redirect and context afterwards, or the error.</summary>
    private static RunOutcome RunKernel(IExecutionEngine engine, EbpfProgram program, KernelProgramType type, byte[] packet, ProgramEnvironment environment, ExecutionOptions options, ref (EbpfProgram Program, ExecutionOptions Options)? rewritten)
    {
        try
        {
            using var loaded = KernelProgram.Load(program, type, environment, engine, options, StructuralOnly);
            rewritten ??= (loaded.Program, loaded.Options);
            var result = loaded.TestRun(packet);
            return new($"retval=0x{result.ReturnValue:x}, packet afterwards {Convert.ToHexString(result.Output)}, redirect {result.Redirect?.ToString() ?? "none"}, context afterwards {Convert.ToHexString(result.Context)}", null);
        }
        catch (EbpfRuntimeException e)
        {
            return new($"{e.Kind} at pc {e.Pc}", e is EbpfMemoryAccessException ? e.Pc : null);
        }
        catch (EbpfCompilationException e)
        {
            return new($"CompilationError at pc {e.Pc}", null);
        }
        catch (EbpfTestRunException e)
        {
            return new($"TestRunRefused: {e.Message}", null);
        }
    }

    private static unsafe RunOutcome RunAt(IExecutionEngine engine, EbpfProgram program, byte[] input, byte* at, ProgramEnvironment environment, ExecutionOptions options)
    {
        var memory = new Span<byte>(at, input.Length);
        input.CopyTo(memory);
        return Run(engine, program, memory, environment, options, () => new Span<byte>(at, input.Length).ToArray());
    }

    /// <summary>The outcome text, and the pc of the access that tripped its check when the run ended that way.</summary>
    private static RunOutcome Run(IExecutionEngine engine, EbpfProgram program, Span<byte> memory, ProgramEnvironment environment, ExecutionOptions options, Func<byte[]> afterwards)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string result;
        int? violationPc = null;
        try
        {
            using var compiled = engine.Compile(program, environment, options);
            result = $"r0=0x{compiled.Run(memory):x}";
        }
        catch (EbpfRuntimeException e)
        {
            result = $"{e.Kind} at pc {e.Pc}";
            violationPc = e is EbpfMemoryAccessException ? e.Pc : null;
        }
        catch (EbpfCompilationException e)
        {
            result = $"CompilationError at pc {e.Pc}";
        }

        return new($"{result}, input afterwards {Convert.ToHexString(afterwards())}", violationPc);
    }

    /// <summary>The same run from a deeper stack and with the memory at other low address bits.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe string OutcomeElsewhere(IExecutionEngine engine, EbpfProgram program, byte[] input, byte* at, ProgramEnvironment environment, ExecutionOptions options)
    {
        Span<byte> shift = stackalloc byte[StackShift];
        shift[0] = 1;
        // Runs normally use the thread's stack area; here the run gets one on the thread's stack, below the shift.
        string outcome = Ebpf.Execution.RunStack.OnOwnStack(() => OutcomeAt(engine, program, input, at, environment, options));
        return shift[0] == 1 ? outcome : string.Empty;
    }

    /// <summary>How a run ended (see <see cref="Outcome"/>) and the pc of the access whose check stopped it, if one did.</summary>
    private readonly record struct RunOutcome(string Outcome, int? ViolationPc);

    private static string? Disagreement(string engine, string expected, string actual) =>
        actual == expected ? null : $"{engine} differs from the reference:\n  reference: {expected}\n  {engine}: {actual}";
}
