using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public class ConcurrentRunTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void One_compiled_program_runs_on_several_threads_with_separate_registers_and_stacks(string engine)
    {
        // r0 = sum of the input bytes, accumulated through a stack slot: stdw [r10-8], 0; loop: ldxb r3, [r1];
        // ldxdw r4, [r10-8]; add r4, r3; stxdw [r10-8], r4; add r1, 1; sub r2, 1; jne r2, 0, loop; ldxdw r0, [r10-8]
        var program = Program(
            I(OpCodes.StDW, 10, 0, -8, 0),
            I(OpCodes.LdxB, 3, 1), I(OpCodes.LdxDW, 4, 10, -8), I(OpCodes.Add64Reg, 4, 3), I(OpCodes.StxDW, 10, 4, -8),
            I(OpCodes.Add64Imm, 1, imm: 1), I(OpCodes.Sub64Imm, 2, imm: 1), I(OpCodes.JneImm, 2, 0, -7, 0),
            I(OpCodes.LdxDW, 0, 10, -8), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var failures = 0;
        Parallel.For(0, 4, t =>
        {
            var memory = Enumerable.Range(0, 64).Select(i => (byte)(t + 1)).ToArray();
            for (int i = 0; i < 200; i++)
            {
                if (compiled.Run(memory) != (ulong)(64 * (t + 1)))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        Assert.Equal(0, failures);
    }
}
