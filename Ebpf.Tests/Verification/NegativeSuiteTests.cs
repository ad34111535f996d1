using Ebpf.Conformance;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

/// <summary>The <c>unused-*</c> files of the conformance suite's <c>negative</c> folder: each raw program breaks an unused-field rule.</summary>
public class NegativeSuiteTests
{
    public static TheoryData<string> UnusedFieldFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ConformanceSuite.NegativeDirectory, "unused-*.data").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    [Fact]
    public void There_are_45_unused_field_files()
    {
        Assert.Equal(45, UnusedFieldFiles().Count);
    }

    [Theory]
    [MemberData(nameof(UnusedFieldFiles))]
    public void The_default_verifier_rejects_the_raw_program(string name)
    {
        var test = ConformanceTest.Load(Path.Combine(ConformanceSuite.NegativeDirectory, name + ".data"));
        Assert.NotNull(test.Raw);
        var code = Instruction.DecodeAll(test.Raw);

        // Loading rejects it at the first slot, naming the field. For mov with a register the offset selects movsx, so
        // an offset other than 0, 8, 16 (or 32) is an undefined encoding, which the decoder rejects whatever the
        // verifier; every other file breaks a policy rule, which the policy verifier itself rejects.
        var e = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(test.Raw));
        Assert.Equal(0, e.Pc);
        Assert.Equal(code[0], e.Instruction);
        string field = name[(name.LastIndexOf('-') + 1)..];
        Assert.Contains($"the {field} ", e.Reason);
        Assert.Contains("must be 0", e.Reason);

        bool undefined = !InstructionDecoder.TryDecode(code, 0, out _, out _);
        Assert.Equal(name.Contains("mov", StringComparison.Ordinal) && name.Contains("_reg-offset", StringComparison.Ordinal), undefined);
        if (!undefined)
        {
            Assert.Equal(e.Message, Assert.Throws<EbpfVerificationException>(() => Verifier.Default.Verify(code)).Message);
        }
    }
}
