using System.Runtime.CompilerServices;
using Ebpf.Il;
using Ebpf.Isa;
using Ebpf.Verification;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Il;

/// <summary>What is particular to the IL engine: availability, unchecked mode, the IL listing, exact budget stops.</summary>
public class IlEngineTests
{
    [Fact]
    public void Describes_itself()
    {
        var engine = new IlEngine();
        Assert.Equal("il", engine.Name);
        Assert.Equal(
            EngineCapabilities.CompilesToIl | EngineCapabilities.RequiresDynamicCode | EngineCapabilities.CanDisableMemoryChecks,
            engine.Capabilities);
        Assert.True(engine.IsAvailable);
        Assert.Null(engine.UnavailableReason);
    }

    [Fact]
    public void Without_dynamic_code_it_is_unavailable_and_declines_to_compile()
    {
        var engine = new IlEngine(dynamicCodeSupported: false);
        var program = Program(I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.Exit));
        Assert.False(engine.IsAvailable);
        Assert.Contains("dynamic code", engine.UnavailableReason);
        var e = Assert.Throws<EbpfEngineUnavailableException>(() => engine.Compile(program));
        Assert.Equal("il", e.Engine);
        Assert.False(((IExecutionEngine)engine).TryCompile(program, null, null, out var compiled, out var reason));
        Assert.Null(compiled);
        Assert.Equal(engine.UnavailableReason, reason);
    }

    [Fact]
    public void Compiles_to_an_il_program()
    {
        using var compiled = new IlEngine().Compile(Program(I(OpCodes.Mov64Imm, 0, imm: 7), I(OpCodes.Exit)));
        var il = Assert.IsType<IlCompiledProgram>(compiled);
        Assert.Equal("il", il.EngineName);
        Assert.Null(il.IlListing);
        Assert.Equal(7UL, il.Run());
    }

    [Fact]
    public void The_listing_shows_each_instruction_its_il_and_the_cold_check_path()
    {
        // ldxdw r0, [r1+0]; exit
        var program = Program(I(OpCodes.LdxDW, 0, 1), I(OpCodes.Exit));
        using var compiled = (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(program);
        string listing = compiled.IlListing!;
        Assert.Contains(".method ebpf_program_f0", listing);
        Assert.Contains("// pc 0: ", listing);
        Assert.Contains("// pc 1: ", listing);
        Assert.Contains("stloc addr", listing);
        Assert.Contains("unaligned. 1", listing);
        Assert.Contains("ldind.i8", listing);
        Assert.Contains("SLOWCHECK", listing);
        Assert.Contains("ldfld RunState::MetadataLength", listing);
        Assert.Contains("call IlRuntime::Violation", listing);
        Assert.Contains("ret", listing);
        Assert.Equal(0x0807060504030201UL, compiled.Run(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
    }

    [Fact]
    public void Without_memory_checks_the_listing_has_no_check()
    {
        var program = Program(I(OpCodes.LdxDW, 0, 1), I(OpCodes.Exit));
        var options = new ExecutionOptions { MemoryChecks = false };
        using var compiled = (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(program, null, options);
        Assert.DoesNotContain("SLOWCHECK", compiled.IlListing!);
        Assert.Equal(0x0807060504030201UL, compiled.Run(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
    }

    [Fact]
    public void Accesses_that_stay_in_the_own_frame_need_no_check()
    {
        // stdw [r10-512], 5; ldxdw r0, [r10-512]; exit: both lie in the frame whatever r10 is.
        var program = Program(I(OpCodes.StDW, 10, 0, -512, 5), I(OpCodes.LdxDW, 0, 10, -512), I(OpCodes.Exit));
        using var compiled = (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(program);
        Assert.DoesNotContain("SLOWCHECK", compiled.IlListing!);
        Assert.Equal(5UL, compiled.Run());
    }

    [Fact]
    public void Checks_can_be_turned_off_for_trusted_programs()
    {
        // ldxdw r0, [r10-600]: below the entry frame (512 bytes) but inside the run's stack area (8 frames), which is
        // zeroed. Checked, that is a violation; unchecked, the read happens.
        var program = Program(I(OpCodes.LdxDW, 0, 10, -600), I(OpCodes.Exit));
        var engine = new IlEngine();
        using var checkedProgram = engine.Compile(program, null, StructuralOnly);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => checkedProgram.Run());
        Assert.Equal(0, e.Pc);
        Assert.Equal(RuntimeErrorKind.MemoryAccessViolation, e.Kind);
        Assert.Equal(MemoryAccessKind.Read, e.Access);
        Assert.Equal(8UL, e.Size);

        using var uncheckedProgram = engine.Compile(program, null, new ExecutionOptions { MemoryChecks = false, Verification = VerificationMode.Structural });
        Assert.Equal(0UL, uncheckedProgram.Run());
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    [InlineData(6, 3)]
    [InlineData(7, 1)]
    public void The_budget_stops_at_the_instruction_the_interpreter_stops_at(long budget, int pc)
    {
        // 0: mov r0, 0; 1: add r0, 1; 2: stxdw [r1+0], r0; 3: ja -3 (to 1). The segments are [0], [1, 2], [3]; the
        // instructions run are 0, 1, 2, 3, 1, 2, 3, 1, ..., so budget b stops at the (b+1)-th of them.
        var program = Program(
            I(OpCodes.Mov64Imm, 0), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.StxDW, 1, 0), I(OpCodes.Ja, offset: -3));
        using var compiled = new IlEngine().Compile(program, null, new ExecutionOptions { InstructionBudget = budget });
        var e = Assert.Throws<EbpfBudgetExceededException>(() => compiled.Run(new byte[8]));
        Assert.Equal(pc, e.Pc);
        Assert.Equal(budget, e.Budget);
    }

    [Fact]
    public void Concurrent_runs_have_their_own_registers_and_stack()
    {
        // r0 = input[0] * 3 via the stack: stxdw [r10-8], r2 ... uses the frame, so runs would interfere if they shared it.
        var program = Program(
            I(OpCodes.LdxB, 2, 1), I(OpCodes.StxDW, 10, 2, -8), I(OpCodes.LdxDW, 0, 10, -8), I(OpCodes.Mul64Imm, 0, imm: 3), I(OpCodes.Exit));
        using var compiled = new IlEngine().Compile(program);
        var results = new ulong[200];
        Parallel.For(0, results.Length, i => results[i] = compiled.Run(new[] { (byte)i }));
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal((ulong)(i * 3), results[i]);
        }
    }

    [Fact]
    public void Large_frames_and_deep_recursion_use_the_heap_stack()
    {
        // 64 frames of 32 KiB (2 MiB, more than is stack-allocated). f: r1 -= 1; stxdw [r10-65536], r1;
        // jeq r1, 0, +1; call f; ldxdw r2, [r10-65536]; add r0, r2; exit. Entered with r1 = 63: 64 frames in all,
        // and r0 sums 0 + 1 + ... + 62 = 1953 as the calls return (each frame kept its own value).
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 63), I(OpCodes.Mov64Imm, 0), I(OpCodes.Call, 0, 1, 0, 1), I(OpCodes.Exit),
            I(OpCodes.Sub64Imm, 1, imm: 1), I(OpCodes.StxDW, 10, 1, short.MinValue), I(OpCodes.JeqImm, 1, 0, 1, 0),
            I(OpCodes.Call, 0, 1, 0, -4), I(OpCodes.LdxDW, 2, 10, short.MinValue), I(OpCodes.Add64Reg, 0, 2), I(OpCodes.Exit));
        var options = new ExecutionOptions { StackSize = 32768, MaxCallDepth = 64 };
        using var compiled = new IlEngine().Compile(program, null, options);
        Assert.Equal(1953UL, compiled.Run());
    }

    [Fact]
    public unsafe void The_cold_path_accepts_every_region_the_inline_guess_missed()
    {
        // A pointer of unknown origin into the stack (r10 stored and loaded back): guessed to be the input, found in
        // the stack frames on the cold path. 0: stdw [r10-8], 42; 1: stxdw [r10-16], r10; 2: ldxdw r3, [r10-16];
        // 3: ldxdw r0, [r3-8]; 4: exit
        var viaStack = Program(
            I(OpCodes.StDW, 10, 0, -8, 42), I(OpCodes.StxDW, 10, 10, -16), I(OpCodes.LdxDW, 3, 10, -16), I(OpCodes.LdxDW, 0, 3, -8), I(OpCodes.Exit));
        using (var compiled = new IlEngine().Compile(viaStack))
        {
            Assert.Equal(42UL, compiled.Run(new byte[16]));
        }

        // Two environment regions, the first read-only: the second is found by the cold path's loop, and only it
        // takes writes. 0-1: lddw r1, B; 2: ldxb r0, [r1+3]; 3: stb [r1+0], 5; 4-5: lddw r3, A; 6: ldxb r4, [r3+0];
        // 7: add r0, r4; 8: stb [r3+0], 1; 9: exit
        var a = GC.AllocateArray<byte>(8, pinned: true);
        var b = GC.AllocateArray<byte>(8, pinned: true);
        a[0] = 7;
        b[3] = 30;
        ulong addressA = (ulong)Unsafe.AsPointer(ref a[0]);
        ulong addressB = (ulong)Unsafe.AsPointer(ref b[0]);
        var environment = new ProgramEnvironment();
        environment.AddRegion(new MemoryRegion(addressA, 8, MemoryRegionKind.MapValue, writable: false));
        environment.AddRegion(new MemoryRegion(addressB, 8, MemoryRegionKind.Allowed));
        var regions = Program(
            Lddw(1, addressB), I(OpCodes.LdxB, 0, 1, 3), I(OpCodes.StB, 1, 0, 0, 5), Lddw(3, addressA), I(OpCodes.LdxB, 4, 3),
            I(OpCodes.Add64Reg, 0, 4), I(OpCodes.StB, 3, 0, 0, 1), I(OpCodes.Exit));
        using var withRegions = new IlEngine().Compile(regions, environment);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => withRegions.Run());
        Assert.Equal(8, e.Pc);
        Assert.Equal(addressA, e.Address);
        Assert.Equal(MemoryAccessKind.Write, e.Access);
        Assert.Equal(5, b[0]);
        Assert.Equal(7, a[0]);

        // Without the faulting store the run succeeds: 30 + 7.
        var readOnly = Program(
            Lddw(1, addressB), I(OpCodes.LdxB, 0, 1, 3), Lddw(3, addressA), I(OpCodes.LdxB, 4, 3), I(OpCodes.Add64Reg, 0, 4), I(OpCodes.Exit));
        using var reads = new IlEngine().Compile(readOnly, environment);
        Assert.Equal(37UL, reads.Run());
        GC.KeepAlive(a);
        GC.KeepAlive(b);
    }

    [Fact]
    public unsafe void Regions_past_the_ones_checked_inline_are_searched_too()
    {
        // Six regions of 8 bytes; the cold path checks the first four inline and loops over the rest. The sixth is
        // writable, the fifth read-only. 0-1: lddw r1, sixth; 2: stb [r1+7], 9; 3: ldxb r0, [r1+7];
        // 4-5: lddw r2, fifth; 6: ldxb r3, [r2+0]; 7: add r0, r3; 8: stb [r2+0], 1; 9: exit
        var memory = GC.AllocateArray<byte>(48, pinned: true);
        memory[32] = 4;
        ulong start = (ulong)Unsafe.AsPointer(ref memory[0]);
        var environment = new ProgramEnvironment();
        for (int i = 0; i < 6; i++)
        {
            environment.AddRegion(new MemoryRegion(start + (ulong)(8 * i), 8, MemoryRegionKind.Allowed, writable: i != 4));
        }

        var program = Program(
            Lddw(1, start + 40), I(OpCodes.StB, 1, 0, 7, 9), I(OpCodes.LdxB, 0, 1, 7), Lddw(2, start + 32), I(OpCodes.LdxB, 3, 2),
            I(OpCodes.Add64Reg, 0, 3), I(OpCodes.StB, 2, 0, 0, 1), I(OpCodes.Exit));
        using var compiled = new IlEngine().Compile(program, environment);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(8, e.Pc);
        Assert.Equal(start + 32, e.Address);
        Assert.Equal(9, memory[47]);
        Assert.Equal(4, memory[32]);

        var reads = Program(Lddw(1, start + 40), I(OpCodes.LdxB, 0, 1, 7), Lddw(2, start + 32), I(OpCodes.LdxB, 3, 2), I(OpCodes.Add64Reg, 0, 3), I(OpCodes.Exit));
        using var readsCompiled = new IlEngine().Compile(reads, environment);
        Assert.Equal(13UL, readsCompiled.Run());
        GC.KeepAlive(memory);
    }

    [Fact]
    public unsafe void A_region_added_after_compiling_is_honoured()
    {
        // Compiled while the environment has no regions; the run after AddRegion uses the variant that checks any
        // number of them. 0-1: lddw r1, region; 2: ldxb r0, [r1+1]; 3: exit
        var memory = GC.AllocateArray<byte>(4, pinned: true);
        memory[1] = 0x5a;
        ulong address = (ulong)Unsafe.AsPointer(ref memory[0]);
        var environment = new ProgramEnvironment();
        using var compiled = new IlEngine().Compile(Program(Lddw(1, address), I(OpCodes.LdxB, 0, 1, 1), I(OpCodes.Exit)), environment);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(2, e.Pc);

        environment.AddRegion(new MemoryRegion(address, 4, MemoryRegionKind.Allowed));
        Assert.Equal(0x5aUL, compiled.Run());
        GC.KeepAlive(memory);
    }
}
