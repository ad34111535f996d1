using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Differential;

/// <summary>Programs the differential test once found engines disagreeing on, kept as fixed regression cases.</summary>
public class DifferentialRegressionTests
{
    /// <summary>
    /// Found by the differential test (seed 2t1qp_w_-jT1): in optimised code RyuJIT copied r0, held in rdx, with a 32-bit
    /// mov to free rdx for the 32-bit division of "mod32 r2, r0" and later reloaded r0 from that copy, so the IL engine
    /// returned 0xe6756773. The taken "jsge32 r2, r6, +8" (335 >= -707) skips the only instruction that narrows r0, so
    /// r0 keeps the value of its lddw.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_32_bit_modulo_keeps_the_upper_half_of_its_divisor_register(string engineName)
    {
        const string text = """
        lddw r0, 0x1e6756773
        lddw r3, 0x7fffffff
        lddw r4, 0xffffffffffffff34
        lddw r5, 0xfffffffffffffc63
        lddw r6, 0x2c3
        lddw r7, 0x7fffffff
        mov64 r8, r1
        add64 r8, 0x4
        mov64 r9, r10
        add64 r9, -0x40
        and64 r2, -0x396a7299
        jslt32 r6, r4, -1
        sdiv64 r6, -0x1
        mov32 r5, r2
        mod32 r2, r0
        lddw r2, 0x14f
        ldxsw r7, [r1+15]
        sub64 r3, -0x70
        jsge32 r2, r6, +8
        lsh32 r0, -0x80000000
        arsh64 r6, 0xf7
        jsge r3, 0x10, -9
        or64 r2, r3
        ldindh r5, 0x0
        jle32 r7, 0x6d6b, +7
        mov32 r0, r4
        call local +11
        mod32 r2, -0x136c
        lock fetch add32 [r9+47], r4
        mul64 r3, -0x60
        jset r4, -0x69, +2
        and64 r5, r5
        jeq32 r3, -0xb1, +0
        movsx3264 r5, r0
        jeq r0, r3, -16
        add64 r7, r0
        ldxdw r4, [r9-15]
        exit
        xor64 r2, r0
        add64 r7, r7
        jset r0, 0x1, +1
        ja +1
        call local -5
        exit
        """;
        var program = EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance);
        var input = Convert.FromHexString("191C12850BE087D896432EB71CE493F36A39AC4F0A3705A4C2C9F312D821A169526C2076482AA87DCCE676DA0EC87DF5");
        using var compiled = TestEngines.Get(engineName).Compile(program, DifferentialTests.Environment(), new ExecutionOptions { InstructionBudget = 918, Verification = VerificationMode.Structural });

        Assert.Equal(0x1e6756773UL, compiled.Run(input));
    }
}
