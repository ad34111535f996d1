using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>
/// A store at a variable stack offset may have written any byte of its range: reading such a byte later is unproven
/// (strict mode rejects it, hybrid accepts it), not an error, since a loop of such stores may well fill the array.
/// A byte no store can have reached stays an error.
/// </summary>
public class StackMaybeInitialisedTests
{
    private const string Store = """
        ldxb r3, [r1+0]
        and r3, 7
        mov r4, r10
        add r4, -8
        add r4, r3
        stb [r4+0], 1
        """;

    [Fact]
    public void Reading_a_byte_a_variable_offset_store_may_have_written_is_unproven()
    {
        var analysis = Analyze.Asm("mov r0, 0\njlt r2, 1, +7\n" + Store + "\nldxb r0, [r10-5]\nexit");
        Assert.True(analysis.IsSafe, string.Join("\n", analysis.Errors));
        Assert.Equal("r10: the stack byte fp-5 may be uninitialised (only stores at variable offsets may have written it)", Assert.Single(analysis.Unproven).Message);
        Assert.Contains("fp-8=~~~~~~~~", analysis.Log);
    }

    [Fact]
    public void Reading_a_byte_outside_every_store_stays_an_error()
    {
        var analysis = Analyze.Asm("mov r0, 0\njlt r2, 1, +7\n" + Store + "\nldxb r0, [r10-9]\nexit");
        Assert.Equal("r10: reads the uninitialised stack byte fp-9", Assert.Single(analysis.Errors).Message);
    }
}
