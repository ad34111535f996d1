using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public class ExecutionBasicsTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Rbpf_readme_add(string engine)
    {
        // mov32 r0, 0; mov32 r1, 2; add32 r0, 1; add32 r0, r1; exit
        var program = Program(
            I(OpCodes.Mov32Imm, 0), I(OpCodes.Mov32Imm, 1, imm: 2), I(OpCodes.Add32Imm, 0, imm: 1), I(OpCodes.Add32Reg, 0, 1), I(OpCodes.Exit));
        Assert.Equal(3UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void R1_and_r2_are_the_memory_address_and_length(string engine)
    {
        // ldxb r0, [r1+2]; add64 r0, r2; exit  -> 0x11 + 5
        var program = Program(I(OpCodes.LdxB, 0, 1, 2), I(OpCodes.Add64Reg, 0, 2), I(OpCodes.Exit));
        Assert.Equal(0x11UL + 5, Run(engine, program, [0xaa, 0xbb, 0x11, 0xcc, 0xdd]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Lddw_loads_64_bits(string engine)
    {
        var program = Program(Lddw(0, 0x1122334455667788), I(OpCodes.Exit));
        Assert.Equal(0x1122334455667788UL, Run(engine, program));
    }
}
