using Ebpf.Bench.Workloads;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Bench;

/// <summary>
/// The benchmark suite's smoke check as a test: every workload of Ebpf.Bench (clang-built eBPF from examples/bench)
/// returns, on every engine and with memory checks on and (where the engine allows it) off, the r0 of the same C code
/// compiled natively (recorded from bench/native/run.sh).
/// </summary>
public sealed class WorkloadSmokeTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var workload in WorkloadCatalog.All)
            {
                data.Add(engine.Name, workload.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Workload_returns_the_native_result(string engine, string workload)
    {
        var w = WorkloadCatalog.Get(workload);
        foreach (var configuration in EngineConfiguration.For([TestEngines.Get(engine)]))
        {
            var outcome = SmokeCheck.RunOne(configuration, w);
            Assert.True(outcome.Agrees, $"{configuration.Label} on {workload}: r0 = {outcome.Result?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} {outcome.Error}, native = {w.Expected}");
        }
    }

    [Fact]
    public void Smoke_report_flags_a_disagreement()
    {
        var interpreter = EngineConfiguration.Checked(new Ebpf.Interpreter.InterpreterEngine());
        var good = new SmokeOutcome(interpreter, WorkloadCatalog.Get("prime"), 669, null);
        var bad = new SmokeOutcome(interpreter, WorkloadCatalog.Get("filter"), 54, null);
        using var output = new StringWriter();

        Assert.True(SmokeCheck.Report([good], output));
        Assert.False(SmokeCheck.Report([good, bad], output));
        Assert.Contains("1 of 2 runs disagree", output.ToString());
    }

    [Fact]
    public void The_native_driver_runs_the_same_workloads_in_the_same_order_on_inputs_of_the_same_length()
    {
        var table = File.ReadAllText(Path.Combine(ConformanceSuite.RepositoryRoot, "bench", "native", "inputs.c"));
        var rows = System.Text.RegularExpressions.Regex.Matches(table, @"\{ ""(?<name>\w+)"", bench_(?<program>\w+), (?<length>[^,]+), fill_\w+ \}")
            .Select(m => (m.Groups["name"].Value, m.Groups["program"].Value, NativeLength(m.Groups["length"].Value)))
            .ToList();

        Assert.Equal(WorkloadCatalog.All.Select(w => (w.Name, w.ProgramName, w.InputLength)), rows);
    }

    [Fact]
    public void Workload_programs_are_the_committed_clang_objects()
    {
        foreach (var workload in WorkloadCatalog.All)
        {
            var committed = File.ReadAllBytes(Path.Combine(ConformanceSuite.RepositoryRoot, "examples", "bench", workload.ProgramFile));
            Assert.Equal(committed, workload.ReadEmbeddedFile().ToArray());
        }
    }

    /// <summary>The driver's length expressions: a number, or <c>a &lt;&lt; b</c>.</summary>
    private static int NativeLength(string expression)
    {
        var parts = expression.Split("<<", StringSplitOptions.TrimEntries);
        return parts.Length == 1 ? int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture)
            : int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) << int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
