using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Pointer leaks: a pointer returned in r0 or stored where the host can read it (the input, a map value, global
/// data) is an unproven point, so hybrid mode accepts the program and strict mode rejects it, as the kernel does for
/// unprivileged programs. Spilling a pointer to the stack is no leak.
/// </summary>
public class PointerLeakTests
{
    [Theory]
    [InlineData("mov r0, r10\nexit", 1, "r0: returns a pointer (fp0+0) to the host (a pointer leak the kernel rejects)")]
    [InlineData("mov r0, r1\nadd r0, 4\nexit", 2, "r0: returns a pointer (input(off=4)) to the host (a pointer leak the kernel rejects)")]
    [InlineData("jlt r2, 8, +1\nstxdw [r1+0], r10\nmov r0, 0\nexit", 1, "r10: stores a pointer (fp0+0) into the input or packet, where the host can read it (a pointer leak the kernel rejects)")]
    public void A_pointer_the_host_can_see_is_unproven(string asm, int pc, string message)
    {
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsSafe, string.Join("\n", analysis.Errors));
        var finding = Assert.Single(analysis.Unproven);
        Assert.Equal(pc, finding.Pc);
        Assert.Equal(message, finding.Message);
    }

    [Fact]
    public void A_pointer_stored_into_a_map_value_is_unproven()
    {
        var analysis = Analyze.Slots(
        [
            new Isa.Instruction(Isa.OpCodes.StW, 10, 0, -4, 0),
            .. Analyze.PseudoLddw(1, Isa.LddwSource.MapByIndex, 0),
            new Isa.Instruction(Isa.OpCodes.Mov64Reg, 2, 10, 0, 0),
            new Isa.Instruction(Isa.OpCodes.Add64Imm, 2, 0, 0, -4),
            new Isa.Instruction(Isa.OpCodes.Call, 0, 0, 0, 1),
            new Isa.Instruction(Isa.OpCodes.JeqImm, 0, 0, 1, 0),
            new Isa.Instruction(Isa.OpCodes.StxDW, 0, 10, 0, 0),
            new Isa.Instruction(Isa.OpCodes.Mov64Imm, 0, 0, 0, 0),
            new Isa.Instruction(Isa.OpCodes.Exit, 0, 0, 0, 0),
        ]);
        Assert.True(analysis.IsSafe, string.Join("\n", analysis.Errors));
        Assert.Equal("r10: stores a pointer (fp0+0) into the map value, where the host can read it (a pointer leak the kernel rejects)", Assert.Single(analysis.Unproven).Message);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(7).Outcome);
    }

    [Fact]
    public void Spilling_a_pointer_to_the_stack_and_returning_a_number_is_proven()
    {
        var analysis = Analyze.Asm("stxdw [r10-8], r1\nldxdw r3, [r10-8]\nmov r0, 0\nexit");
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
    }
}
