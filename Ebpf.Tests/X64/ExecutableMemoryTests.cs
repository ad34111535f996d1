using Ebpf.Isa;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

[Collection(X64SerialCollection.Name)]
public class ExecutableMemoryTests
{
    private static readonly EbpfProgram Small = Program(I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit));

    [Fact]
    public void Code_is_mapped_read_execute_and_never_writable()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        using var compiled = (X64CompiledProgram)new X64Engine().Compile(Small);
        Assert.Equal("r-xp", X64Platform.PermissionsAt(compiled.CodeAddress));
        Assert.Equal(7UL, compiled.Run());
        Assert.Equal("r-xp", X64Platform.PermissionsAt(compiled.CodeAddress));
    }

    [Fact]
    public void Dispose_unmaps_the_code()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        long before = X64Engine.LiveCodeMappings;
        var compiled = (X64CompiledProgram)new X64Engine().Compile(Small);
        nint address = compiled.CodeAddress;
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        compiled.Dispose();
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        // The pages may be reused by the runtime at once, but no longer as our private executable mapping.
        Assert.NotEqual("r-xp", X64Platform.PermissionsAt(address));
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        compiled.Dispose();
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [Fact]
    public void Thousands_of_compile_dispose_cycles_leave_no_mapping_behind()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var engine = new X64Engine();
        long before = X64Engine.LiveCodeMappings;
        for (int i = 0; i < 3000; i++)
        {
            using var compiled = engine.Compile(Small);
            Assert.Equal(7UL, compiled.Run());
        }

        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [Fact]
    public void A_program_that_is_never_disposed_is_unmapped_by_its_finalizer()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // Programs that earlier tests dropped may still wait for their finalizers: release them first, so that the
        // count measured here is not lowered later by them (which made the equality below fail now and then).
        Collect();
        long before = X64Engine.LiveCodeMappings;
        CompileAndDrop(100);
        for (int i = 0; i < 10 && X64Engine.LiveCodeMappings > before; i++)
        {
            Collect();
        }

        Assert.True(X64Engine.LiveCodeMappings <= before, $"{X64Engine.LiveCodeMappings - before} of 100 dropped programs are still mapped");
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void CompileAndDrop(int count)
    {
        var engine = new X64Engine();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(7UL, engine.Compile(Small).Run());
        }
    }
}
