using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// Accesses through pointers derived from r10, which the analysis guesses to be stack accesses (the JITs compare them
/// inline against the current frame and try the caller frames and other regions on the cold path).
/// </summary>
public class StackPointerTests
{
    // The entry function stores 0x2a in its frame and calls a local function, which reads the caller's frame
    // through r2 = its own r10 + offset (the caller's frame lies just above the callee's).
    private static EbpfProgram CallerFrameRead(int offset) => ProgramLoader.Load(Assembler.Assemble($"""
        mov64 r1, 0x2a
        stxdw [r10-8], r1
        call local +1
        exit
        mov64 r2, r10
        add64 r2, {offset}
        ldxdw r0, [r2]
        exit
        """));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_pointer_into_the_caller_frame_reads_it(string engine)
    {
        var program = CallerFrameRead(504); // 512 - 8: the caller's [r10-8]
        Assert.Equal(AccessRegion.Stack, program.Analysis.RegionOf(6));
        using var compiled = TestEngines.Get(engine).Compile(program, options: TestPrograms.StructuralOnly);
        Assert.Equal(0x2aUL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_pointer_past_the_outermost_frame_is_a_violation(string engine)
    {
        var program = CallerFrameRead(512); // the caller's r10: one past the stack
        using var compiled = TestEngines.Get(engine).Compile(program, options: TestPrograms.StructuralOnly);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(6, e.Pc);
        Assert.Equal(8UL, e.Size);
        Assert.Equal(MemoryAccessKind.Read, e.Access);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_pointer_into_the_own_frame_straddling_its_top_is_a_violation(string engine)
    {
        // r2 = r10 - 4: an 8-byte read covers 4 bytes of the frame and 4 beyond the stack.
        var program = ProgramLoader.Load(Assembler.Assemble("mov64 r2, r10\nadd64 r2, -0x4\nldxdw r0, [r2]\nexit"));
        Assert.Equal(AccessRegion.Stack, program.Analysis.RegionOf(2));
        using var compiled = TestEngines.Get(engine).Compile(program, options: TestPrograms.StructuralOnly);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(2, e.Pc);
    }
}
