using Ebpf.Cli.Benchmarking;
using Ebpf.Cli.Loading;
using Ebpf.Execution;
using Ebpf.Maps;
using Ebpf.Tests.Fuzzing;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary>
/// <c>ebpf bench</c>'s measuring loop calls the program's real entry point once per run: the loop is generic over the
/// kind of run (a direct call of <see cref="CompiledProgram.Run(Span{byte})"/> for the project's engines, the interface
/// for any other compiled program), and a run the loop skipped or the runtime optimized away would show in a count the
/// program keeps itself.
/// </summary>
public class BenchRunnerTests
{
    private const int RunsPerBatch = 37;

    private const int Batches = 3;

    private static readonly string RunCounter = Path.Combine(ConformanceSuite.RepositoryRoot, "Ebpf.Tests", "Cli", "Objects", "run_counter.o");

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_timed_run_is_a_run_of_the_program(string engineName)
    {
        using var loaded = ProgramFile.Load(RunCounter);
        var measurement = BenchRunner.Measure(TestEngines.Get(engineName), loaded, ExecutionOptions.Default, [], RunsPerBatch, Batches);

        AssertWholeBatches(measurement, RunCount(loaded));
    }

    [Fact]
    public void A_compiled_program_of_another_kind_is_run_through_its_interface()
    {
        // FaultyEngine's programs wrap the interpreter's and are not CompiledPrograms (their r0 is not looked at here).
        using var loaded = ProgramFile.Load(RunCounter);
        var measurement = BenchRunner.Measure(new FaultyEngine(), loaded, ExecutionOptions.Default, [], RunsPerBatch, Batches);

        AssertWholeBatches(measurement, RunCount(loaded));
    }

    /// <summary>
    /// The program ran once after each of the <see cref="BenchRunner.CompileSamples"/> compilations, then in whole
    /// batches of <see cref="RunsPerBatch"/>: at least one of warm-up and the timed ones.
    /// </summary>
    private static void AssertWholeBatches(EngineMeasurement measurement, ulong runs)
    {
        Assert.Equal(RunsPerBatch, measurement.RunsPerBatch);
        Assert.Equal(Batches, measurement.Batches);
        ulong batched = runs - BenchRunner.CompileSamples;
        Assert.Equal(0UL, batched % RunsPerBatch);
        Assert.True(batched >= (Batches + 1) * RunsPerBatch, $"{runs} runs");
    }

    /// <summary>The runs counted in run_counter.o's array map (see its C source).</summary>
    private static ulong RunCount(LoadedProgram loaded)
    {
        Assert.True(loaded.Runtime!.GetMap<ArrayMap>("hits").TryLookup(0u, out ulong hits));
        return hits;
    }
}
