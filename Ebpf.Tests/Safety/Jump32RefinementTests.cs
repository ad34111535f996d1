using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>
/// 32-bit comparisons (jmp32) refine ranges when the compared values fit: unsigned when both are below 2^32, signed
/// too when both are below 2^31 (their low halves are then the values themselves, with the same sign).
/// </summary>
public class Jump32RefinementTests
{
    /// <summary>r3 = a byte of the input (0-255); a 32-bit test bounds it; the read at r1 + r3 is proven when the input has 16 bytes.</summary>
    private static SafetyAnalysis Bounded(string test) => Analyze.Asm($"""
        mov r0, 0
        jlt r2, 16, out
        ldxb r3, [r1+0]
        {test}, out
        add r1, r3
        ldxb r0, [r1+0]
        out:
        exit
        """);

    [Theory]
    [InlineData("jgt32 r3, 15")]
    [InlineData("jge32 r3, 16")]
    [InlineData("jsgt32 r3, 15")]
    [InlineData("jsge32 r3, 16")]
    public void A_32_bit_test_of_a_small_value_bounds_it(string test)
    {
        var analysis = Bounded(test);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Input, 0, 15, 1), analysis.Access(5));
    }

    [Theory]
    [InlineData("jsgt32 r3, -1")] // the immediate -1 is 0xffffffff as a 32-bit value: no refinement
    [InlineData("jgt r3, 100")]
    public void A_test_that_does_not_bound_the_value_by_the_input_proves_nothing(string test)
    {
        Assert.Equal(AccessOutcome.Unknown, Bounded(test).Access(5).Outcome);
    }

    [Fact]
    public void A_signed_32_bit_test_of_a_value_that_may_reach_2_to_the_31_does_not_refine()
    {
        // r3 in [0, 2^32): as a 32-bit signed number it may be negative, so "not > 15" does not bound it
        var analysis = Analyze.Asm("mov r0, 0\njlt r2, 16, out\nldxw r3, [r1+0]\njsgt32 r3, 15, out\nadd r1, r3\nldxb r0, [r1+0]\nout:\nexit");
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(5).Outcome);
    }
}
