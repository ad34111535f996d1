using Ebpf.Assembly;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

/// <summary>The default verifier accepts every program of the conformance suite's <c>tests</c> folder.</summary>
public class ConformanceAcceptanceTests
{
    [Theory]
    [MemberData(nameof(ConformanceSuite.TestNames), MemberType = typeof(ConformanceSuite))]
    public void The_default_verifier_accepts_the_program(string name)
    {
        var test = ConformanceSuite.Load(name);
        var code = test.Asm is not null ? Assembler.Assemble(test.Asm, test.AsmFirstLine) : Instruction.DecodeAll(test.Raw);
        Verifier.Default.Verify(code);
        var program = ProgramLoader.Load(code, name);
        Assert.Equal(code.Length, program.Length);
        if (test.Raw is not null)
        {
            Assert.Equal(code.Length, ProgramLoader.Load(test.Raw).Length);
        }
    }
}
