using Ebpf.Execution;
using Ebpf.Isa;
using Ebpf.Tests.Engines;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

[Collection(X64SerialCollection.Name)]
public class ExecutableMemoryTests
{
    private static readonly EbpfProgram Small = Program(I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit));

    /// <summary>Returns 7 through a loop: not brief (see <see cref="BriefCode"/>), so its runs take leases and Dispose unmaps it.</summary>
    private static readonly EbpfProgram Looping = DeferredUnmapTests.CountTo(7);

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

        Assert.False(BriefCode.IsBrief(Looping));
        long before = X64Engine.LiveCodeMappings;
        var compiled = (X64CompiledProgram)new X64Engine().Compile(Looping);
        nint address = compiled.CodeAddress;
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Equal(7UL, compiled.Run());
        compiled.Dispose();
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        // The pages may be reused by the runtime at once, but no longer as our private executable mapping.
        Assert.NotEqual("r-xp", X64Platform.PermissionsAt(address));
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        compiled.Dispose();
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [Fact]
    public void Brief_code_stays_mapped_after_dispose_until_the_program_is_collected()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // A brief program's runs take no lease, so Dispose leaves the mapping to the garbage collector: mapped while the
        // program can be reached (a run may be about to enter it), unmapped once it cannot.
        Assert.True(BriefCode.IsBrief(Small));
        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        var dropped = CompileRunDisposeAndDrop();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Equal("r-xp", X64Platform.PermissionsAt(dropped.Address));
        GarbageCollections.CollectUntilMappings(before);
        Assert.False(dropped.Program.IsAlive);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        Assert.NotEqual("r-xp", X64Platform.PermissionsAt(dropped.Address));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Program, nint Address) CompileRunDisposeAndDrop()
    {
        var compiled = (X64CompiledProgram)new X64Engine().Compile(Small);
        Assert.Equal(7UL, compiled.Run());
        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
        Assert.Equal("r-xp", X64Platform.PermissionsAt(compiled.CodeAddress));
        return (new WeakReference(compiled), compiled.CodeAddress);
    }

    [Fact]
    public void Thousands_of_compile_dispose_cycles_leave_no_mapping_behind()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // Code with leases is unmapped by Dispose itself; brief code once the disposed programs are collected.
        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        CompileRunAndDispose(Looping, 3000, 7);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
        CompileRunAndDispose(Small, 3000, 7);
        GarbageCollections.CollectUntilMappings(before);

        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void CompileRunAndDispose(EbpfProgram program, int count, ulong expected)
    {
        var engine = new X64Engine();
        for (int i = 0; i < count; i++)
        {
            using var compiled = engine.Compile(program);
            Assert.Equal(expected, compiled.Run());
        }
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
        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        CompileAndDrop(100);
        GarbageCollections.CollectUntilMappings(before);
        Assert.True(X64Engine.LiveCodeMappings <= before, $"{X64Engine.LiveCodeMappings - before} of 100 dropped programs are still mapped");
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
