using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Building;
using Ebpf.DependencyInjection;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.Tests.Culture;

/// <summary>
/// Text the library produces (disassembly, error messages) does not depend on the user's culture. Swedish formats
/// negative numbers with U+2212 MINUS SIGN, which the assembler would not read back and which log scrapers do not expect.
/// </summary>
public class InvariantTextTests
{
    private const string Culture = "sv-SE";
    private const char MinusSign = '\u2212';

    [Fact]
    public void The_test_culture_formats_negative_numbers_with_a_non_ascii_minus()
    {
        Assert.Equal("\u22125", (-5).ToString(CultureInfo.GetCultureInfo(Culture)));
    }

    [Theory]
    [InlineData("ldxh r0, [r1-2]\nexit")]
    [InlineData("stw [r10-8], -7\nmov r0, 0\nexit")]
    [InlineData("mov r0, -1\nadd r0, -300\nja +0\njsgt r0, -5, -1\nexit")]
    [InlineData("lddw r0, -2\nexit")]
    [InlineData("jeq32 r0, -3, +0\nexit")]
    public void Disassembly_of_negative_values_uses_an_ascii_minus_and_round_trips(string source)
    {
        byte[] code = Assembler.AssembleBytes(source);
        using var scope = new CultureScope(Culture);
        string text = Disassembler.ToText(code);
        Assert.DoesNotContain(MinusSign.ToString(), text);
        Assert.Equal(code, Assembler.AssembleBytes(text));
        Assert.DoesNotContain(MinusSign.ToString(), Disassembler.Dump(code));
    }

    [Theory]
    [InlineData("b700000001000000 0500fbff00000000 9500000000000000")] // ja -5: jump target -3
    [InlineData("3700ffff01000000 9500000000000000")] // div with offset -1
    [InlineData("d4000000f0ffffff 9500000000000000")] // byte swap of width -16
    [InlineData("bf10f8ff00000000 9500000000000000")] // movsx with offset -8
    [InlineData("95000000ffffffff")] // exit with imm -1
    [InlineData("b7000000000000009500ffff00000000")] // exit with offset -1
    public void Decoder_and_verifier_messages_use_an_ascii_minus(string hex)
    {
        byte[] code = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        using var scope = new CultureScope(Culture);
        var e = Assert.ThrowsAny<EbpfException>(() => EbpfProgram.Create(code, Verifier.Default));
        Assert.DoesNotContain(MinusSign.ToString(), e.Message);
        Assert.Contains("-", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jeq r0, 1, -70000\nexit")]
    [InlineData("ldxw r0, [r1-40000]\nexit")]
    [InlineData("mov32 r0, -99999999999\nexit")]
    [InlineData("ja32 -99999999999\nexit")]
    public void Assembler_messages_use_an_ascii_minus(string source)
    {
        using var scope = new CultureScope(Culture);
        var e = Assert.ThrowsAny<EbpfException>(() => Assembler.Assemble(source));
        Assert.DoesNotContain(MinusSign.ToString(), e.Message);
    }

    [Fact]
    public void Builder_messages_use_an_ascii_minus()
    {
        var builder = new ProgramBuilder();
        builder.Label("top");
        for (int i = 0; i < 40_000; i++)
        {
            builder.Mov(Register.R0, 0);
        }

        builder.Ja("top").Exit();
        using var scope = new CultureScope(Culture);
        var e = Assert.ThrowsAny<EbpfException>(() => builder.Build());
        Assert.DoesNotContain(MinusSign.ToString(), e.Message);
    }

    [Fact]
    public void Option_validation_messages_use_an_ascii_minus()
    {
        var services = new ServiceCollection();
        services.AddEbpf(o => o.InstructionBudget = -5).AddInterpreter();
        using var provider = services.BuildServiceProvider();
        using var scope = new CultureScope(Culture);
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Contains("(got -5)", Assert.Single(e.Failures));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Runtime_error_messages_use_an_ascii_minus(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble("ldxdw r0, [r1-8]\nexit"));
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Verification = VerificationMode.Structural });
        using var scope = new CultureScope(Culture);
        var e = Assert.ThrowsAny<EbpfRuntimeException>(() => compiled.Run(new byte[16]));
        Assert.DoesNotContain(MinusSign.ToString(), e.Message);
    }
}
