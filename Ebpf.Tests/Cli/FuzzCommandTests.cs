using System.Text.RegularExpressions;
using Ebpf.Cli;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Interpreter;
using Ebpf.Tests.Fuzzing;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary><c>ebpf fuzz</c>: the short CI version of the million-program campaign, and its reporting.</summary>
public class FuzzCommandTests
{
    [Fact]
    public void A_short_campaign_on_every_engine_ends_with_the_summary_line()
    {
        var result = Tool.Run("fuzz", "--programs", "300", "--seed", "18");
        Assert.True(result.ExitCode == 0, result.Out + result.Err);
        var lines = result.OutLines;
        Assert.Equal($"fuzz: seed 18, engines {string.Join(", ", TestEngines.All.Select(e => e.Name))} (interpreter is the reference), {System.Environment.ProcessorCount} thread(s)", lines[0]);
        Assert.StartsWith("outcomes: ", lines[^12]);
        Assert.Contains("result ", lines[^12]);
        Assert.Contains("MemoryAccessViolation ", lines[^12]);
        Assert.Matches(@"^verifier: [1-9][0-9]* proven, [1-9][0-9]* unknown, [0-9]+ refuted accesses \(0 proven tripped\); [1-9][0-9]* programs strict-accepted, 0 faulted$", lines[^11]);
        string[] families = ["differential", "long", "guarded", "kernel", "callback", "loops"];
        for (int i = 0; i < families.Length; i++)
        {
            Assert.Matches($@"^verifier, {families[i]}: [1-9][0-9]* programs: [0-9]+ proven, [0-9]+ unknown, [0-9]+ refuted accesses \([0-9.]+% proven\), [0-9]+ strict-accepted$", lines[^(10 - i)]);
        }

        Assert.Matches(@"^proof use: [1-9][0-9]* programs compiled with [1-9][0-9]* checks dropped, each run on every engine and compared with every check forced on$", lines[^4]);
        Assert.Matches(@"^packet bounds: [1-9][0-9]* proven packet and metadata accesses run in [1-9][0-9]* kernel programs, each checked against \[data, data_end\) or \[data_meta, data\) as they were$", lines[^3]);
        Assert.Matches(@"^time: [0-9.]+ s \([0-9]+ programs/s\)$", lines[^2]);
        Assert.Equal("fuzz: 300 programs, 0 mismatches, 0 unexpected exceptions", lines[^1]);
    }

    [Fact]
    public void A_disagreeing_engine_is_counted_and_reported_with_how_to_repeat_it()
    {
        var engines = new EngineSelector([new InterpreterEngine(), new FaultyEngine()]);
        var result = Tool.Run(engines, "fuzz", "--programs", "200", "--seed", "5", "--threads", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(result.OutLines, l => l.StartsWith("FINDING mismatch in program ", StringComparison.Ordinal) && l.Contains("(repeat: ebpf fuzz --seed 5 --programs "));
        Assert.Contains("faulty differs from the reference", result.Out);
        Assert.Matches(@"^fuzz: 200 programs, [1-9][0-9]* mismatches, 0 unexpected exceptions$", result.OutLines[^1]);
    }

    [Fact]
    public void Ctrl_C_stops_the_campaign_with_the_lines_of_what_ran()
    {
        using var stopping = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        stopping.Cancel();
        int code = EbpfTool.Run(["fuzz", "--programs", "1000000", "--seed", "4"], output, error, stopping: stopping.Token);
        var lines = output.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(ToolContext.Interrupted, code);
        Assert.Equal("fuzz: interrupted after 0 of 1000000 programs", lines[^2]);
        Assert.Equal("fuzz: 0 programs, 0 mismatches, 0 unexpected exceptions", lines[^1]);
    }

    [Fact]
    public void A_campaign_cancelled_while_it_runs_stops_after_the_programs_under_way()
    {
        using var stopping = new CancellationTokenSource();
        var campaign = new DifferentialCampaign([TestEngines.Get("interpreter")], GeneratedCases.For(4)) { Parallelism = 1 };
        var progress = new SynchronousProgress(done => stopping.Cancel());
        var result = campaign.Run(1_000_000, progress, stopping.Token);
        Assert.True(result.Stopped);
        Assert.Equal(1000, result.Programs); // the first report comes at 1,000, and the one thread takes no program after it
        Assert.Equal(result.Programs, result.Outcomes.Values.Sum());
    }

    [Fact]
    public void Redirected_output_has_no_progress_and_is_the_same_as_without_a_terminal()
    {
        string Run(bool interactive, out string errors)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            EbpfTool.Run(["fuzz", "--programs", "1200", "--seed", "6", "--threads", "1", "--engines", "interpreter"], output, error, interactive: interactive);
            errors = error.ToString();
            return Regex.Replace(output.ToString(), @"time: .*", "time");
        }

        string redirected = Run(false, out string redirectedErrors);
        string onTerminal = Run(true, out string terminalErrors);
        Assert.Equal("", redirectedErrors);
        Assert.Equal(redirected, onTerminal); // progress goes to the error stream only
        Assert.Contains("\rfuzz: 1000/1200 programs", terminalErrors);
        Assert.EndsWith("\r", terminalErrors); // erased before the results
    }

    [Theory]
    [InlineData("fuzz")]
    [InlineData("fuzz", "--programs", "0")]
    [InlineData("fuzz", "--programs", "ten")]
    [InlineData("fuzz", "--programs", "5", "--threads", "0")]
    public void Bad_arguments_are_usage_errors(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.Equal((2, ""), (result.ExitCode, result.Out));
        Assert.StartsWith("ebpf: error: ", result.Err);
    }

    [Fact]
    public void An_unknown_engine_is_a_usage_error()
    {
        var result = Tool.Run("fuzz", "--programs", "5", "--engines", "interpreter,jit");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("ebpf: error: unknown engine 'jit'", result.Err);
    }

    [Fact]
    public void Program_i_of_a_seed_is_always_the_same_and_the_campaign_does_not_depend_on_parallelism()
    {
        var environment = GeneratedEnvironments.Create();
        Assert.Equal(GeneratedCases.Create(9, 123, environment).Description, GeneratedCases.Create(9, 123, environment).Description);
        Assert.NotEqual(GeneratedCases.Create(9, 123, environment).Description, GeneratedCases.Create(9, 124, environment).Description);
        Assert.NotEqual(GeneratedCases.Create(9, 123, environment).Description, GeneratedCases.Create(10, 123, environment).Description);
        Assert.True(GeneratedCases.Create(9, GeneratedCases.LongProgramEvery - 1, environment).Program.Length > 100);

        var engines = TestEngines.All;
        var one = new DifferentialCampaign(engines, GeneratedCases.For(3)) { Parallelism = 1 }.Run(60);
        var two = new DifferentialCampaign(engines, GeneratedCases.For(3)) { Parallelism = 3 }.Run(60);
        Assert.Equal(60, one.Programs);
        Assert.Equal(one.Outcomes, two.Outcomes);
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
