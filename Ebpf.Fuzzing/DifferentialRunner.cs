using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
            var (expected, violationPc) = RunAt(Engines[0], program, input, here, environment, options);
            if (CheckAddressIndependence && OutcomeElsewhere(Engines[0], program, input, elsewhere, environment, options) != expected)
            {
                return new DifferentialVerdict(false, expected, null);
            }

            bool succeeded = expected.StartsWith("r0=", StringComparison.Ordinal);
            foreach (var engine in Engines)
            {
                if (engine != Engines[0] && Disagreement(engine.Name, expected, OutcomeAt(engine, program, input, here, environment, options)) is { } mismatch)
                {
                    return new DifferentialVerdict(true, expected, mismatch) { ReferenceViolationPc = violationPc };
                }

                if (succeeded && engine.Capabilities.HasFlag(EngineCapabilities.CanDisableMemoryChecks)
                    && Disagreement(engine.Name + " without memory checks", expected, OutcomeAt(engine, program, input, here, environment, options with { MemoryChecks = false })) is { } withoutChecks)
                {
                    return new DifferentialVerdict(true, expected, withoutChecks) { ReferenceViolationPc = violationPc };
                }
            }

            return new DifferentialVerdict(true, expected, null) { ReferenceViolationPc = violationPc };
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
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

    private static unsafe (string Outcome, int? ViolationPc) RunAt(IExecutionEngine engine, EbpfProgram program, byte[] input, byte* at, ProgramEnvironment environment, ExecutionOptions options)
    {
        var memory = new Span<byte>(at, input.Length);
        input.CopyTo(memory);
        return Run(engine, program, memory, environment, options, () => new Span<byte>(at, input.Length).ToArray());
    }

    /// <summary>The outcome text, and the pc of the access that tripped its check when the run ended that way.</summary>
    private static (string Outcome, int? ViolationPc) Run(IExecutionEngine engine, EbpfProgram program, Span<byte> memory, ProgramEnvironment environment, ExecutionOptions options, Func<byte[]> afterwards)
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

        return ($"{result}, input afterwards {Convert.ToHexString(afterwards())}", violationPc);
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

    private static string? Disagreement(string engine, string expected, string actual) =>
        actual == expected ? null : $"{engine} differs from the reference:\n  reference: {expected}\n  {engine}: {actual}";
}
