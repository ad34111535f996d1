using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

public class DelegateVerifierTests
{
    private static readonly byte[] MovExit =
    [
        0xb7, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, // mov r0, 42
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // exit
    ];

    [Fact]
    public void The_function_sees_the_encoded_program_and_accepts_it()
    {
        byte[]? seen = null;
        var verifier = Verifier.FromDelegate(code =>
        {
            seen = code.ToArray();
            return null;
        });
        var program = EbpfProgram.Create(MovExit, verifier);
        Assert.Equal(MovExit, seen);
        Assert.Equal(2, program.Length);
    }

    [Fact]
    public void A_returned_reason_rejects_the_whole_program()
    {
        var verifier = new DelegateVerifier(code => code.Length > 8 ? "at most one instruction here" : null);
        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(MovExit, verifier));
        Assert.Equal("at most one instruction here", e.Reason);
        Assert.Equal(-1, e.Pc);
        Assert.Equal("verification failed: at most one instruction here", e.Message);
    }

    [Fact]
    public void The_structural_rules_still_apply_after_a_lenient_function()
    {
        var verifier = Verifier.FromDelegate(_ => null);
        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(MovExit.AsSpan(0, 8), verifier));
        Assert.Equal(0, e.Pc);
        Assert.StartsWith("execution can run off the end", e.Reason);
    }

    [Fact]
    public void The_function_may_name_a_pc_itself()
    {
        var verifier = Verifier.FromDelegate(code => throw new EbpfVerificationException(1, Instruction.Decode(code[8..]), "no exit allowed"));
        var e = Assert.Throws<EbpfVerificationException>(() => ProgramLoaderWith(verifier));
        Assert.Equal(1, e.Pc);
        Assert.Equal(OpCodes.Exit, e.Instruction!.Value.OpCode);
    }

    [Fact]
    public void ProgramLoader_uses_the_default_verifier()
    {
        var program = ProgramLoader.Load(MovExit, "answer", "text");
        Assert.Equal("answer", program.Name);
        Assert.Equal("text", program.Section);
        Assert.Equal(MovExit, program.Bytes.ToArray());
        Assert.Same(Verifier.Default, Verifier.Default);
        Assert.Equal(VerifierOptions.Default, Verifier.Default.Options);
    }

    private static EbpfProgram ProgramLoaderWith(IVerifier verifier) => EbpfProgram.Create(MovExit, verifier);
}
