using Ebpf.Isa;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

public class ListingTests
{
    private static readonly EbpfProgram Atomic = Program(
        I(OpCodes.Mov64Imm, 0, imm: 1),
        I(OpCodes.StDW, 10, 0, -8, 1),
        I(OpCodes.Mov64Imm, 2, imm: 5),
        I(OpCodes.AtomicDW, 10, 2, -8, (int)AtomicOperation.CompareExchange),
        I(OpCodes.LdxDW, 0, 1, 0),
        I(OpCodes.Exit));

    [Fact]
    public void Listing_marks_every_instruction_and_shows_the_machine_code()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var compiled = (X64CompiledProgram)new X64Engine().Compile(Atomic);
        string listing = compiled.GetListing();
        for (int pc = 0; pc < Atomic.Length; pc++)
        {
            Assert.Contains($"; pc {pc}: {Atomic.Instructions[pc]}", listing);
        }

        Assert.Contains("lock cmpxchg", listing);
        Assert.Contains("ret", listing);
        Assert.True(compiled.CodeSize > 0);
    }

    [Fact]
    public void Unchecked_code_has_no_check_of_the_input()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var checkedCode = (X64CompiledProgram)new X64Engine().Compile(Atomic);
        using var uncheckedCode = (X64CompiledProgram)new X64Engine().Compile(Atomic, null, new ExecutionOptions { MemoryChecks = false });
        Assert.Contains("jae", checkedCode.GetListing());
        Assert.DoesNotContain("jae", uncheckedCode.GetListing());
        Assert.True(uncheckedCode.CodeSize < checkedCode.CodeSize);
    }

    [Fact]
    public void Listing_of_a_disposed_program_throws()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var compiled = (X64CompiledProgram)new X64Engine().Compile(Atomic);
        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.GetListing());
    }
}
