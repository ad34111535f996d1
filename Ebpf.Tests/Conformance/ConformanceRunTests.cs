using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Conformance;

/// <summary>Every program of the bpf_conformance suite, assembled and run in-process on every engine.</summary>
public class ConformanceRunTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.Names())
        {
            foreach (var name in ConformanceSuite.TestNames())
            {
                data.Add(engine, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Suite_program_returns_the_expected_r0(string engine, string test)
    {
        var data = ConformanceSuite.Load(test);
        var program = EbpfProgram.Create(data.GetInstructions(), Verifier.Default, test);
        var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        var options = new ExecutionOptions { InstructionBudget = 10_000_000 };
        using var compiled = TestEngines.Get(engine).Compile(program, environment, options);
        ulong r0 = data.Memory.Length == 0 ? compiled.Run() : compiled.Run(data.Memory.ToArray());
        Assert.Equal(data.Result!.Value, r0);
    }

    [Fact]
    public void Raw_sections_agree_with_the_assembly()
    {
        foreach (var name in ConformanceSuite.TestNames())
        {
            var data = ConformanceSuite.Load(name);
            if (data.Raw is { } raw && data.Asm is { } asm)
            {
                Assert.Equal(raw, Assembler.AssembleBytes(asm, data.AsmFirstLine));
            }
        }
    }
}
