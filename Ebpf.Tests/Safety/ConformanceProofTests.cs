using System.Text.RegularExpressions;
using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Xunit.Abstractions;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The proving verifier over the bpf_conformance suite: which programs strict mode accepts, why the others are not
/// (printed as a table by category), and that every accepted one runs to its expected result on every engine.
/// </summary>
public partial class ConformanceProofTests(ITestOutputHelper output)
{
    private static readonly SafetyContext Context = SafetyContext.For(new ProgramEnvironment(ConformanceHelpers.CreateTable()));

    private static (EbpfProgram Program, ConformanceTest Data) Load(string name)
    {
        var data = ConformanceSuite.Load(name);
        byte[] code = data.Asm is { } asm ? Assembler.AssembleBytes(asm, data.AsmFirstLine) : data.Raw!;
        return (EbpfProgram.Create(code, Verifier.Default, name), data);
    }

    [Fact]
    public void Every_program_not_proven_says_why_and_the_reasons_are_tabulated()
    {
        int proven = 0;
        var reasons = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string name in ConformanceSuite.TestNames())
        {
            var analysis = Load(name).Program.Analysis.Safety(Context);
            if (analysis.IsProven)
            {
                proven++;
                continue;
            }

            var first = analysis.Errors.FirstOrDefault() ?? analysis.Unproven.First();
            string category = Category(first.Message, !analysis.Errors.IsEmpty);
            if (!reasons.TryGetValue(category, out var names))
            {
                reasons[category] = names = [];
            }

            names.Add(name);
        }

        output.WriteLine($"strict mode proves {proven} of {ConformanceSuite.TestNames().Count} programs");
        foreach (var (category, names) in reasons)
        {
            output.WriteLine($"{names.Count,4}  {category}: {string.Join(", ", names)}");
        }

        Assert.True(proven > 0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_strictly_proven_program_runs_to_its_expected_result(string engine)
    {
        int ran = 0;
        foreach (string name in ConformanceSuite.TestNames())
        {
            var (program, data) = Load(name);
            if (!program.Analysis.Safety(Context).IsProven || data.Result is null)
            {
                continue;
            }

            var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
            using var compiled = TestEngines.Get(engine).Compile(program, environment, new ExecutionOptions { InstructionBudget = 10_000_000 });
            ulong r0 = data.Memory.Length == 0 ? compiled.Run() : compiled.Run(data.Memory.ToArray());
            Assert.Equal(data.Result.Value, r0);
            ran++;
        }

        Assert.True(ran > 0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_default_compiles_every_program_and_strict_refuses_exactly_the_unproven_ones(string engine)
    {
        int strictAccepted = 0;
        var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        foreach (string name in ConformanceSuite.TestNames())
        {
            var (program, _) = Load(name);
            using (TestEngines.Get(engine).Compile(program, environment, ExecutionOptions.Default))
            {
            }

            bool proven = program.Analysis.Safety(SafetyContext.For(environment)).IsProven;
            try
            {
                using var strict = TestEngines.Get(engine).Compile(program, environment, new ExecutionOptions { Verification = VerificationMode.Strict });
                Assert.True(proven, $"{name}: strict compiled a program with unproven points");
                strictAccepted++;
            }
            catch (EbpfVerificationException e)
            {
                Assert.False(proven, $"{name}: strict refused a proven program: {e.Message}");
            }
        }

        output.WriteLine($"{engine}: the default (hybrid) compiles {ConformanceSuite.TestNames().Count} of {ConformanceSuite.TestNames().Count} programs, strict {strictAccepted}");
        Assert.InRange(strictAccepted, 1, ConformanceSuite.TestNames().Count - 1);
    }

    /// <summary>The finding with its numbers taken out, so findings of one kind group together.</summary>
    private static string Category(string message, bool error) =>
        (error ? "error: " : "unproven: ") + Numbers().Replace(Registers().Replace(message, "rN"), "#");

    [GeneratedRegex(@"\br\d+\b")]
    private static partial Regex Registers();

    [GeneratedRegex(@"-?\d+|\(.*?\)|\[.*?\]")]
    private static partial Regex Numbers();
}
