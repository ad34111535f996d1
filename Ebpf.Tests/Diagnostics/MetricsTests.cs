using Ebpf.Diagnostics;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Diagnostics;

/// <summary>The <c>Ebpf</c> meter and activity source, on every engine.</summary>
[Collection(Ebpf.Tests.Diagnostics.RunListenerCollection.Name)]
public class MetricsTests
{
    private static (string, object) Engine(string name) => (EbpfTelemetry.EngineTag, name);

    private static (string, object) Result(string result) => (EbpfTelemetry.ResultTag, result);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Runs_are_counted_and_timed_by_engine_and_result(string engine)
    {
        using var recorder = new TelemetryRecorder();
        using var compiled = TestEngines.Get(engine).Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit)));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(7UL, compiled.Run());
        }

        Assert.Equal(3, recorder.Sum("ebpf.runs", Engine(engine), Result("ok")));
        var durations = recorder.Measurements.Where(m => m.Instrument == "ebpf.run.duration").ToList();
        Assert.Equal(3, durations.Count);
        Assert.All(durations, d => Assert.True(d.Value >= 0 && Equals(d.Tags[EbpfTelemetry.EngineTag], engine)));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Budget_stops_memory_violations_and_helper_failures_have_their_counters(string engine)
    {
        using var recorder = new TelemetryRecorder();
        var e = TestEngines.Get(engine);
        using (var loop = e.Compile(Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit)), options: new ExecutionOptions { InstructionBudget = 10 }))
        {
            Assert.Throws<EbpfBudgetExceededException>(() => loop.Run());
        }

        // ldxdw r0, [r0+0] with r0 = 0: outside every region
        using (var bad = e.Compile(Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.LdxDW, 0, 0), I(OpCodes.Exit))))
        {
            Assert.Throws<EbpfMemoryAccessException>(() => bad.Run());
        }

        var helpers = new HelperTable();
        helpers.Set(1, "fails", (_, _, _, _, _, _) => throw new InvalidOperationException("no"));
        using (var failing = e.Compile(Program(I(OpCodes.Call, imm: 1), I(OpCodes.Exit)), new ProgramEnvironment(helpers)))
        {
            Assert.Throws<EbpfHelperException>(() => failing.Run());
        }

        Assert.Equal(
            (1, 1, 1, 1, 1, 1),
            (recorder.Sum("ebpf.run.budget_stops", Engine(engine)), recorder.Sum("ebpf.run.memory_violations", Engine(engine)),
                recorder.Sum("ebpf.run.helper_failures", Engine(engine)), recorder.Sum("ebpf.runs", Result("BudgetExceeded")),
                recorder.Sum("ebpf.runs", Result("MemoryAccessViolation")), recorder.Sum("ebpf.runs", Result("HelperFailed"))));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Each_compilation_is_an_activity_and_a_compile_time_measurement(string engine)
    {
        using var recorder = new TelemetryRecorder();
        var program = ProgramLoaderFor("exit_seven", Program(I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit)));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var activity = Assert.Single(recorder.Activities);
        Assert.Equal("ebpf.compile", activity.OperationName);
        Assert.Equal(engine, activity.GetTagItem(EbpfTelemetry.EngineTag));
        Assert.Equal("exit_seven", activity.GetTagItem("ebpf.program"));
        var compile = Assert.Single(recorder.Measurements, m => m.Instrument == "ebpf.compile.duration");
        Assert.Equal(engine, compile.Tags[EbpfTelemetry.EngineTag]);
        Assert.True(compile.Value > 0);
    }

    private static EbpfProgram ProgramLoaderFor(string name, EbpfProgram program) =>
        Ebpf.Verification.ProgramLoader.Load(program.Instructions.AsSpan(), name);
}
