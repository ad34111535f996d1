using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Assembly;

public class ConformanceAssemblyTests
{
    [Theory]
    [MemberData(nameof(ConformanceSuite.TestNames), MemberType = typeof(ConformanceSuite))]
    public void Asm_section_assembles_matches_raw_and_round_trips(string name)
    {
        var test = ConformanceSuite.Load(name);
        Assert.NotNull(test.Asm);
        var bytes = Assembler.AssembleBytes(test.Asm!, test.AsmFirstLine);
        Assert.NotEmpty(bytes);
        if (test.Raw is not null)
        {
            Assert.Equal(test.Raw, bytes);
        }

        var text = Disassembler.ToText(bytes);
        Assert.DoesNotContain(InstructionFormatter.SlotDirective, text);
        Assert.Equal(bytes, Assembler.AssembleBytes(text));
    }

    [Fact]
    public void Every_suite_program_round_trips()
    {
        int roundTrips = 0;
        foreach (string row in ConformanceSuite.TestNames())
        {
            var test = ConformanceSuite.Load(row);
            var bytes = Assembler.AssembleBytes(test.Asm!, test.AsmFirstLine);
            if (Assembler.AssembleBytes(Disassembler.ToText(bytes)).AsSpan().SequenceEqual(bytes))
            {
                roundTrips++;
            }
        }

        Assert.Equal(313, roundTrips);
    }

    public static TheoryData<string> InvalidNames()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ConformanceSuite.NegativeDirectory, "invalid_*.data").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    [Fact]
    public void The_negative_folder_has_the_eleven_invalid_files()
    {
        Assert.Equal(11, InvalidNames().Count);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Invalid_files_are_rejected_with_a_position(string name)
    {
        var e = Assert.Throws<EbpfAssemblyException>(() =>
        {
            var test = ConformanceTest.Load(Path.Combine(ConformanceSuite.NegativeDirectory, name + ".data"));
            Assembler.Assemble(test.Asm ?? string.Empty, test.AsmFirstLine);
        });
        Assert.True(e.Line > 0 && e.Column > 0, e.Message);
        Assert.StartsWith($"line {e.Line}, column {e.Column}: ", e.Message);
    }

    [Theory]
    [InlineData("invalid_imm32_dec_range", 5, 12, "out of range")]
    [InlineData("invalid_imm32_hex_range", 5, 12, "out of range")]
    [InlineData("invalid_label", 4, 4, "unknown label 'NOT_A_LABEL'")]
    [InlineData("invalid_lock", 4, 1, "wrong operand count")]
    [InlineData("invalid_lock2", 4, 1, "'lock' takes an atomic operation")]
    [InlineData("invalid_mnemonic", 5, 1, "unknown mnemonic 'ldxq'")]
    [InlineData("invalid_offset", 4, 11, "bad memory operand")]
    [InlineData("invalid_offset_range", 5, 16, "offset +0x10000 is out of range")]
    [InlineData("invalid_operand_count", 4, 1, "wrong operand count: 'lddw' takes 2 operands")]
    [InlineData("invalid_register", 4, 9, "bad register '%r50'")]
    [InlineData("invalid_unknown_directive", 4, 1, "unknown section")]
    public void Invalid_files_point_at_the_problem(string name, int line, int column, string reason)
    {
        var e = Assert.Throws<EbpfAssemblyException>(() =>
        {
            var test = ConformanceTest.Load(Path.Combine(ConformanceSuite.NegativeDirectory, name + ".data"));
            Assembler.Assemble(test.Asm ?? string.Empty, test.AsmFirstLine);
        });
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Contains(reason, e.Reason);
    }
}
