using Ebpf.Execution;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

public class UncheckedModeTests
{
    private static readonly ExecutionOptions Unchecked = new() { MemoryChecks = false };

    /// <summary>The available engines that honour <see cref="ExecutionOptions.MemoryChecks"/> = false.</summary>
    public static TheoryData<string> UncheckedEngines()
    {
        var data = new TheoryData<string>();
        foreach (var engine in TestEngines.All.Where(e => e.Capabilities.HasFlag(EngineCapabilities.CanDisableMemoryChecks)))
        {
            data.Add(engine.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(UncheckedEngines))]
    public unsafe void Without_checks_an_access_past_the_input_is_not_stopped(string engine)
    {
        // ldxb r0, [r1+8] on an 8-byte input whose backing array has a 9th byte 0x5a.
        var program = Program(I(OpCodes.LdxB, 0, 1, 8), I(OpCodes.Exit));
        var backing = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 0x5a };
        using var uncheckedProgram = TestEngines.Get(engine).Compile(program, null, Unchecked);
        using var checkedProgram = TestEngines.Get(engine).Compile(program);
        Assert.Equal(0x5aUL, uncheckedProgram.Run(backing.AsSpan(0, 8)));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => checkedProgram.Run(backing.AsSpan(0, 8)));
        Assert.Equal(0, e.Pc);
    }

    [Theory]
    [MemberData(nameof(UncheckedEngines))]
    public void Without_checks_valid_programs_give_the_same_results(string engine)
    {
        // Copies input[0..4) to the stack, reads it back as a word, adds input[4] via a pointer in r3.
        var program = Program(
            I(OpCodes.LdxW, 2, 1, 0),
            I(OpCodes.StxW, 10, 2, -4),
            I(OpCodes.Mov64Reg, 3, 10),
            I(OpCodes.Add64Imm, 3, imm: -4),
            I(OpCodes.LdxW, 0, 3, 0),
            I(OpCodes.LdxB, 4, 1, 4),
            I(OpCodes.Add64Reg, 0, 4),
            I(OpCodes.Exit));
        byte[] memory = [0x01, 0x02, 0x03, 0x04, 0x10];
        using var compiled = TestEngines.Get(engine).Compile(program, null, Unchecked);
        Assert.Equal(0x04030201UL + 0x10, compiled.Run(memory));
    }

    [Fact]
    public unsafe void Fetch_and_with_r0_as_both_base_and_source_uses_the_original_address()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // r0 = address of the word; lock fetch_and32 [r0+0], r0: the word becomes old & (u32)address, r0 = old.
        var program = Program(I(OpCodes.Mov64Reg, 0, 1), I(OpCodes.AtomicW, 0, 0, 0, (int)AtomicOperation.FetchAnd), I(OpCodes.Exit));
        using var compiled = (CompiledProgram)new X64Engine().Compile(program, null, Unchecked);
        var word = GC.AllocateArray<byte>(8, pinned: true);
        word[0] = 0xff;
        word[1] = 0xff;
        word[2] = 0xff;
        word[3] = 0xff;
        fixed (byte* p = word)
        {
            ulong r0 = compiled.Run(p, 4, null, 0);
            Assert.Equal(0xffffffffUL, r0);
            Assert.Equal((uint)(ulong)p, BitConverter.ToUInt32(word, 0));
        }
    }

    [Fact]
    public void Legacy_packet_loads_stay_checked_without_memory_checks()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var program = Program(I(OpCodes.LdAbsW, imm: 2), I(OpCodes.Exit));
        using var compiled = new X64Engine().Compile(program, null, Unchecked);
        Assert.Equal(0x06050403UL, compiled.Run([1, 2, 3, 4, 5, 6]));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run([1, 2, 3, 4, 5]));
        Assert.Equal(0, e.Pc);
        Assert.Equal(4UL, e.Size);
    }
}
