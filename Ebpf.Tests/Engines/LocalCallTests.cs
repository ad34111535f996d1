using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public class LocalCallTests
{
    private static Instruction Call(int relative) => I(OpCodes.Call, 0, 1, 0, relative);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Arguments_go_in_and_r0_comes_back(string engine)
    {
        // main: mov r1, 40; mov r2, 2; call f; exit.   f: mov r0, r1; add r0, r2; exit
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 40), I(OpCodes.Mov64Imm, 2, imm: 2), Call(1), I(OpCodes.Exit),
            I(OpCodes.Mov64Reg, 0, 1), I(OpCodes.Add64Reg, 0, 2), I(OpCodes.Exit));
        Assert.Equal(42UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void R6_to_r9_survive_a_call_that_clobbers_them(string engine)
    {
        // main: r6..r9 = 1, 2, 3, 4; call f; r0 = r6*1000 + r7*100 + r8*10 + r9 (computed with adds)
        // f: r6..r9 = 9; exit
        var program = Program(
            I(OpCodes.Mov64Imm, 6, imm: 1), I(OpCodes.Mov64Imm, 7, imm: 2), I(OpCodes.Mov64Imm, 8, imm: 3), I(OpCodes.Mov64Imm, 9, imm: 4),
            Call(9),
            I(OpCodes.Mul64Imm, 6, imm: 1000), I(OpCodes.Mul64Imm, 7, imm: 100), I(OpCodes.Mul64Imm, 8, imm: 10),
            I(OpCodes.Mov64Reg, 0, 6), I(OpCodes.Add64Reg, 0, 7), I(OpCodes.Add64Reg, 0, 8), I(OpCodes.Add64Reg, 0, 9), I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 6, imm: 9), I(OpCodes.Mov64Imm, 7, imm: 9), I(OpCodes.Mov64Imm, 8, imm: 9), I(OpCodes.Mov64Imm, 9, imm: 9),
            I(OpCodes.Mov64Imm, 0, imm: 0), I(OpCodes.Exit));
        Assert.Equal(1234UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Each_call_gets_a_fresh_frame_one_stack_size_below(string engine)
    {
        // main: stdw [r10-8], 0x11; mov r6, r10; call f; sub r6, r0 (= frame distance); ldxdw r1, [r10-8]; lsh r6, 8; or r6, r1; mov r0, r6; exit
        // f: stdw [r10-8], 0x22; mov r0, r10; exit
        var program = Program(
            I(OpCodes.StDW, 10, 0, -8, 0x11), I(OpCodes.Mov64Reg, 6, 10), Call(7),
            I(OpCodes.Sub64Reg, 6, 0), I(OpCodes.LdxDW, 1, 10, -8), I(OpCodes.Lsh64Imm, 6, imm: 8), I(OpCodes.Or64Reg, 6, 1),
            I(OpCodes.Mov64Reg, 0, 6), I(OpCodes.Exit),
            I(OpCodes.StDW, 10, 0, -8, 0x22), I(OpCodes.Mov64Reg, 0, 10), I(OpCodes.Exit));
        Assert.Equal((512UL << 8) | 0x11, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Recursion_within_the_depth_limit_works(string engine)
    {
        // sum(n) = n == 0 ? 0 : n + sum(n - 1), with n in r1 kept in r6 across the call; sum(6) = 21 uses 8 frames (main and sum(6)..sum(0)).
        // main: mov r1, 6; call sum; exit
        // sum: mov r0, 0; jeq r1, 0, +5; mov r6, r1; sub r1, 1; call sum; add r0, r6; exit... (r6 restored on return)
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 6), Call(1), I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 0), I(OpCodes.JeqImm, 1, 0, 4, 0), I(OpCodes.Mov64Reg, 6, 1), I(OpCodes.Sub64Imm, 1, imm: 1), Call(-5),
            I(OpCodes.Add64Reg, 0, 6), I(OpCodes.Exit));
        Assert.Equal(21UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Exceeding_the_depth_limit_fails_at_the_call(string engine)
    {
        // Same as above with n = 7: the ninth frame (for sum(0)) is refused at the call inside sum(1) (pc 7).
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 7), Call(1), I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 0), I(OpCodes.JeqImm, 1, 0, 4, 0), I(OpCodes.Mov64Reg, 6, 1), I(OpCodes.Sub64Imm, 1, imm: 1), Call(-5),
            I(OpCodes.Add64Reg, 0, 6), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfCallDepthExceededException>(() => Run(engine, program));
        Assert.Equal(RuntimeErrorKind.CallDepthExceeded, e.Kind);
        Assert.Equal(7, e.Pc);
        Assert.Equal(8, e.MaxDepth);

        var deeper = new ExecutionOptions { MaxCallDepth = 9 };
        Assert.Equal(28UL, Run(engine, program, options: deeper));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_depth_of_one_allows_no_call(string engine)
    {
        var program = Program(Call(1), I(OpCodes.Exit), I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfCallDepthExceededException>(() => Run(engine, program, options: new ExecutionOptions { MaxCallDepth = 1 }));
        Assert.Equal(0, e.Pc);
        Assert.Equal(1UL, Run(engine, program, options: new ExecutionOptions { MaxCallDepth = 2 }));
    }
}
