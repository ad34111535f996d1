using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// x64's direct body of a program with loops (the restartable direct entry, see <see cref="DirectEntry.QualifiesWithLoops"/>):
/// its mapping outlives a disposal until the program is collected (direct runs take no lease), and a body that holds
/// its input limits in stack slots counts its backward jumps and restarts as one that holds them in registers.
/// </summary>
[Collection(X64SerialCollection.Name)]
public class LoopDirectBodyTests
{
    /// <summary>Sums the input's bytes in a loop (no store): it gets the restartable direct entry.</summary>
    internal const string SumBytes = "mov r0, 0\nmov r3, 0\njge r3, r2, +6\nmov r4, r1\nadd r4, r3\nldxb r5, [r4+0]\nadd r0, r5\nadd r3, 1\nja -7\nexit";

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    [Fact]
    public void Code_with_a_loop_direct_body_stays_mapped_after_dispose_until_the_program_is_collected()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        GarbageCollections.Collect();
        long before = X64Engine.LiveCodeMappings;
        var dropped = CompileRunDisposeAndDrop();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Equal("r-xp", X64Platform.PermissionsAt(dropped.Address));
        GarbageCollections.CollectUntilMappings(before);
        Assert.False(dropped.Program.IsAlive);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Program, nint Address) CompileRunDisposeAndDrop()
    {
        var compiled = (X64CompiledProgram)new X64Engine().Compile(Parse(SumBytes), new ProgramEnvironment(), ExecutionOptions.Default with { Verification = VerificationMode.Structural });
        Assert.True(compiled.HasDirectEntry);
        Assert.False(BriefCode.IsBrief(compiled.Program));
        Assert.Equal(6UL, compiled.Run([1, 2, 3]));
        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run([1, 2, 3]));
        Assert.Equal("r-xp", X64Platform.PermissionsAt(compiled.CodeAddress));
        return (new WeakReference(compiled), compiled.CodeAddress);
    }

    [Fact]
    public void A_body_with_its_limits_in_stack_slots_restarts_and_faults_as_the_plain_run()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // r0-r9 all named and r1 moved, with checked accesses of all four sizes: the count of backward jumps takes r12,
        // the input start rbp, and the four limits go to stack slots. r1 walks the input one byte per round until r3
        // bytes are left; each round reads 1, 2, 4 and 8 bytes at r1 and mixes them into r0.
        const string Source = """
            mov r0, 0
            mov r6, 0
            mov r7, 0
            mov r8, 0
            mov r9, 0
            mov r3, r2
            loop:
            jle r3, 8, end
            ldxb r4, [r1+0]
            ldxh r5, [r1+0]
            ldxw r6, [r1+0]
            ldxdw r7, [r1+0]
            add r0, r4
            xor r0, r5
            add r0, r6
            xor r0, r7
            mov r8, r0
            mov r9, r8
            add r1, 1
            sub r3, 1
            ja loop
            end:
            add r0, r9
            exit
            """;
        var options = ExecutionOptions.Default with { Verification = VerificationMode.Structural };
        using var x64 = (CompiledProgram)new X64Engine().Compile(Parse(Source), new ProgramEnvironment(), options);
        using var interpreter = (CompiledProgram)TestEngines.Get("interpreter").Compile(Parse(Source), new ProgramEnvironment(), options);
        Assert.True(x64.HasDirectEntry);
        foreach (int length in (int[])[0, 9, 100, DirectEntry.LoopSteps + 8, DirectEntry.LoopSteps + 9, 3000])
        {
            var input = GC.AllocateArray<byte>(length, pinned: true);
            new Random(length).NextBytes(input);
            using var live = new CancellationTokenSource();
            Assert.Equal(interpreter.Run(input, live.Token), x64.Run(input));
        }

        // r3 too large for the input (the loop bound is r2 + 100): the reads run past the end, at the plain run's pc.
        using var pastEnd = (CompiledProgram)new X64Engine().Compile(Parse(Source.Replace("mov r3, r2", "mov r3, r2\nadd r3, 100", StringComparison.Ordinal)), new ProgramEnvironment(), options);
        using var pastEndInterpreted = (CompiledProgram)TestEngines.Get("interpreter").Compile(Parse(Source.Replace("mov r3, r2", "mov r3, r2\nadd r3, 100", StringComparison.Ordinal)), new ProgramEnvironment(), options);
        foreach (int length in (int[])[16, DirectEntry.LoopSteps + 50])
        {
            var input = GC.AllocateArray<byte>(length, pinned: true);
            using var live = new CancellationTokenSource();
            var reference = Assert.Throws<EbpfMemoryAccessException>(() => pastEndInterpreted.Run(input, live.Token));
            var direct = Assert.Throws<EbpfMemoryAccessException>(() => pastEnd.Run(input));
            Assert.Equal(reference.Pc, direct.Pc);
            Assert.Equal(reference.Message, direct.Message);
        }
    }
}
