using Ebpf.Assembly;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// A campaign's runs are bounded by instruction budgets, never by the wall-clock run-time limit: a limit depends on the
/// machine's load (or a paused process), and a run it stops would show as a false <c>TimedOut</c> mismatch.
/// </summary>
public class CampaignRunTimeLimitTests
{
    /// <summary>A loop that never ends by itself.</summary>
    private const string Endless = "mov r0, 0\nadd r0, 1\nja -2\nexit";

    [Fact]
    public void Every_generated_case_has_the_limit_off_and_every_callback_case_has_a_budget()
    {
        var generate = GeneratedCases.For(2040);
        for (long i = 0; i < 400; i++)
        {
            var generated = generate(i);
            Assert.Null(generated.Options.RunTimeLimit);
            Assert.True(generated.Options.MemoryChecks);
            bool loops = generated.Family == "callback" || generated.Program.Instructions.Any(s => s.OpCode == OpCodes.Call && s.Src == 0 && s.Imm == (int)LinuxHelperIds.Loop);
            Assert.True(!loops || generated.Options.InstructionBudget is not null, $"program {i} ({generated.Family}) calls back and has no budget");
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_campaign_compiles_every_run_without_the_limit_whatever_the_case_asks(string engine)
    {
        var recording = new RecordingEngine(TestEngines.Get(engine));
        var program = EbpfProgram.Create(Assembler.Assemble("mov r0, 7\nexit"), StructuralOnlyVerifier.Instance);
        var options = new ExecutionOptions(); // the library's default: a 10 s limit
        Assert.NotNull(options.RunTimeLimit);
        var result = new DifferentialCampaign([recording], _ => new DifferentialCase(program, [], new ProgramEnvironment(), options, "r0 = 7")).Run(3);
        Assert.True(result.IsClean);
        Assert.NotEmpty(recording.Compiled);
        Assert.All(recording.Compiled, compiled => Assert.Null(compiled.RunTimeLimit));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_long_run_under_a_tiny_limit_ends_on_its_budget_in_a_campaign(string engine)
    {
        IExecutionEngine[] engines = engine == "interpreter" ? [TestEngines.Get(engine)] : [TestEngines.Get("interpreter"), TestEngines.Get(engine)];
        var program = EbpfProgram.Create(Assembler.Assemble(Endless), StructuralOnlyVerifier.Instance);
        var options = new ExecutionOptions { InstructionBudget = 3_000_001, RunTimeLimit = TimeSpan.FromMilliseconds(1) };
        var result = new DifferentialCampaign(engines, _ => new DifferentialCase(program, [], new ProgramEnvironment(), options, "endless")).Run(2);
        Assert.True(result.IsClean, string.Join("\n", result.Findings.Select(f => f.Message)));
        Assert.Equal(new Dictionary<string, long> { ["BudgetExceeded"] = 2 }, result.Outcomes);
    }
}
