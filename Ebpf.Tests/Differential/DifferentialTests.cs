using CsCheck;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Il;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Differential;

/// <summary>
/// Generated valid programs give the same outcome on the interpreter (the reference) and on every other engine:
/// the same r0 and input bytes afterwards, or the same error kind at the same pc. Engines that can run without memory
/// checks must also give the same result unchecked whenever the checked run succeeded (every access was then valid).
/// No tolerance: the budget is exact in every engine (see <see cref="ExecutionOptions.InstructionBudget"/>).
/// </summary>
public class DifferentialTests
{
    /// <summary>Programs per run (a few thousand, kept cheap: each is compiled by every engine).</summary>
    private const int Programs = 3000;

    /// <summary>Long programs per run (each a few hundred slots, compiled by every engine and by IL in small chunks).</summary>
    private const int LongPrograms = 60;

    /// <summary>The IL chunk size for the long programs: they are 2 to 4 chunks long and more.</summary>
    private const int LoweredChunkSlots = 64;

    [Fact]
    public void Generated_programs_behave_the_same_on_every_engine()
    {
        var reference = TestEngines.Get("interpreter");
        var others = TestEngines.All.Where(e => e.Name != reference.Name).ToArray();
        Assert.NotEmpty(others);
        var environment = Environment();
        ProgramGenerator.Program.Sample(
            generated => AssertSameOutcome(generated, reference, others, environment),
            iter: Programs,
            print: generated => generated.ToString());
    }

    [Fact]
    public void Long_functions_with_jumps_anywhere_and_unreachable_code_behave_the_same_on_every_engine()
    {
        // The campaign's shape: functions longer than the IL engine's chunk (lowered here to keep the test fast, as
        // ChunkedCompilationTests does), with jumps anywhere in them and unreachable code that jumps anywhere.
        var reference = TestEngines.Get("interpreter");
        var others = TestEngines.All.Where(e => e.Name != reference.Name).Append(new IlEngine { ChunkSlots = LoweredChunkSlots }).ToArray();
        var environment = Environment();
        int withJa = 0;
        ProgramGenerator.Programs(LoweredChunkSlots * 2, LoweredChunkSlots * 4).Sample(
            generated =>
            {
                if (generated.Slots.Any(slot => slot.OpCode == Isa.OpCodes.Ja))
                {
                    Interlocked.Increment(ref withJa);
                }

                AssertSameOutcome(generated, reference, others, environment);
            },
            iter: LongPrograms,
            print: generated => generated.ToString());

        // The shape is there in the sample as a whole (a single program may happen to draw no ja).
        Assert.True(withJa >= LongPrograms / 2, $"only {withJa} of {LongPrograms} long programs contain a ja");
    }

    [Fact]
    public void Functions_over_the_default_il_chunk_size_behave_the_same_on_every_engine()
    {
        var reference = TestEngines.Get("interpreter");
        var others = TestEngines.All.Where(e => e.Name != reference.Name).ToArray();
        var environment = Environment();
        ProgramGenerator.Programs(IlEngine.DefaultChunkSlots + 50, IlEngine.DefaultChunkSlots + 400).Sample(
            generated =>
            {
                Assert.True(EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance).Functions[0].Length > IlEngine.DefaultChunkSlots);
                AssertSameOutcome(generated, reference, others, environment);
            },
            iter: 4,
            print: generated => generated.ToString());
    }

    [Fact]
    public void Programs_that_take_the_direct_entry_behave_the_same_on_every_engine()
    {
        // The plain generator's prologue names r10; this one's programs do not, so most qualify (all but those whose
        // budget is shorter than the program), and the engines that have a direct entry run them through it.
        int direct = AssertDirectRunsAgree(ProgramGenerator.Stackless, (_, _) => true);
        Assert.True(direct >= 1000 / 2 * 3 / 2, $"only {direct} compilations of 1,000 programs on the interpreter, il and x64 have a direct entry");
    }

    [Fact]
    public void Programs_that_take_the_direct_entry_with_a_frame_of_their_own_behave_the_same_on_every_engine()
    {
        // The generator that keeps loads, stores and atomics through r10 inside the frame: the engines that have a
        // direct entry run them on a zeroed frame of the run's own (DirectEntry.FrameBytes), compared with the
        // interpreter's plain run on the thread's stack area.
        int framed = AssertDirectRunsAgree(ProgramGenerator.Framed, (program, options) => Ebpf.Execution.DirectEntry.FrameBytes(program, options) > 0);
        Assert.True(framed >= 1000 / 3 * 3 / 2, $"only {framed} compilations of 1,000 programs on the interpreter, il and x64 have a direct entry with a frame");
    }

    /// <summary>
    /// Runs 1,000 programs of <paramref name="generator"/> on every engine against the interpreter, and the
    /// interpreter's direct entry against its own plain run; returns how many compilations on the engines that have a
    /// direct entry got one for which <paramref name="counted"/> holds.
    /// </summary>
    /// <remarks>
    /// An environment without regions: the generated one registers maps, whose value memory a program could reach
    /// through an integer address, so runs with it take the plain path. These programs call nothing. The interpreter
    /// takes its direct entry too, so its own plain run (a timeout keeps a program off the direct entry) is compared
    /// with it first: the reference of every engine's direct run is a plain run.
    /// </remarks>
    private static int AssertDirectRunsAgree(Gen<GeneratedProgram> generator, Func<EbpfProgram, ExecutionOptions, bool> counted)
    {
        var reference = TestEngines.Get("interpreter");
        var others = TestEngines.All.Where(e => e.Name != reference.Name).ToArray();
        var environment = new ProgramEnvironment();
        int direct = 0;
        generator.Sample(
            generated =>
            {
                var program = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
                var options = OptionsFor(generated.Budget);
                var plainOptions = options with { Timeout = TimeSpan.FromMinutes(3) };
                Agree("the interpreter's direct entry", Outcome(reference, program, generated.Input, environment, plainOptions), Outcome(reference, program, generated.Input, environment, options));
                foreach (var engine in TestEngines.All.Where(e => e.Name is "interpreter" or "il" or "x64"))
                {
                    using var compiled = (Ebpf.Execution.CompiledProgram)engine.Compile(program, environment, options);
                    if (compiled.HasDirectEntry && counted(program, options))
                    {
                        Interlocked.Increment(ref direct);
                    }
                }

                AssertSameOutcome(generated, reference, others, environment);
            },
            iter: 1000,
            print: generated => generated.ToString());
        return direct;
    }

    /// <summary>The interpreter's outcome of <paramref name="generated"/> and every other engine's agree.</summary>
    private static void AssertSameOutcome(GeneratedProgram generated, IExecutionEngine reference, IExecutionEngine[] others, ProgramEnvironment environment)
    {
        var program = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
        var options = OptionsFor(generated.Budget);
        string expected = Outcome(reference, program, generated.Input, environment, options);
        foreach (var engine in others)
        {
            string actual = Outcome(engine, program, generated.Input, environment, options);
            Agree(engine.Name, expected, actual);
            if (expected.StartsWith("r0=", StringComparison.Ordinal)
                && engine.Capabilities.HasFlag(EngineCapabilities.CanDisableMemoryChecks))
            {
                Agree(engine.Name + " without memory checks", expected, Outcome(engine, program, generated.Input, environment, options with { MemoryChecks = false }));
            }
        }
    }

    [Fact]
    public void The_generator_covers_results_and_every_error_kind()
    {
        // Guards the test above against a generator that only ever produces one kind of outcome.
        var reference = TestEngines.Get("interpreter");
        var environment = Environment();
        var seen = new HashSet<string>();
        ProgramGenerator.Program.Sample(
            generated =>
            {
                var program = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
                string outcome = Outcome(reference, program, generated.Input, environment, OptionsFor(generated.Budget));
                lock (seen)
                {
                    seen.Add(outcome.StartsWith("r0=", StringComparison.Ordinal) ? "result" : outcome.Split(' ')[0]);
                }
            },
            iter: 2000,
            seed: "ey1pC0RyRsS1");
        Assert.Superset(
            new HashSet<string> { "result", "MemoryAccessViolation", "BudgetExceeded", "HelperFailed", "UnknownHelper", "CallDepthExceeded" },
            seen);
    }

    /// <summary>
    /// The campaign's options for a generated program (its budget, structural verification) with a wall-clock limit far
    /// above any stall of a loaded machine (x64 runs of microseconds took 25-31 s at load 30, and the default 10 s limit
    /// turned them into false TimedOut mismatches), so that a run that ignores its budget fails the test rather than
    /// hanging it.
    /// </summary>
    internal static ExecutionOptions OptionsFor(long? budget) =>
        GeneratedCases.OptionsFor(budget) with { RunTimeLimit = TimeSpan.FromMinutes(3) };

    /// <summary>The helpers generated programs call (see <see cref="GeneratedEnvironment"/>).</summary>
    internal static ProgramEnvironment Environment() => GeneratedEnvironment.Create();

    private static void Agree(string engine, string expected, string actual)
    {
        if (actual != expected)
        {
            throw new Xunit.Sdk.XunitException($"{engine} differs from the interpreter:\n  interpreter: {expected}\n  {engine}: {actual}");
        }
    }

    internal static string Outcome(IExecutionEngine engine, EbpfProgram program, byte[] input, ProgramEnvironment environment, ExecutionOptions options) =>
        DifferentialRunner.Outcome(engine, program, input, environment, options);
}
