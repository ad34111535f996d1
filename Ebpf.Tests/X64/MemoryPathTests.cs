using System.Runtime.InteropServices;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// Accesses that miss the inline input check of the native engine and take its out-of-line paths (stack frames reached
/// through other registers, caller frames, the region table, wrap-around addresses). They run on every engine.
/// </summary>
public class MemoryPathTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_callee_reaches_the_callers_frame_through_a_pointer_and_through_r10(string engine)
    {
        // Caller: [r10-8] = 40, r1 = r10 - 8, call f; r0 += [r10-16]. f: r0 = [r1] + [r10+504]; [r10+496] = 2; exit.
        // In f, r10 + 504 is the caller's r10 - 8 and r10 + 496 the caller's r10 - 16.
        var program = Program(
            I(OpCodes.StDW, 10, 0, -8, 40),
            I(OpCodes.Mov64Reg, 1, 10),
            I(OpCodes.Add64Imm, 1, imm: -8),
            I(OpCodes.Call, 0, 1, 0, 3),         // pc 3 -> pc 7
            I(OpCodes.LdxDW, 2, 10, -16),
            I(OpCodes.Add64Reg, 0, 2),
            I(OpCodes.Exit),
            I(OpCodes.LdxDW, 0, 1, 0),            // pc 7
            I(OpCodes.LdxDW, 3, 10, 504),
            I(OpCodes.Add64Reg, 0, 3),
            I(OpCodes.StDW, 10, 0, 496, 2),
            I(OpCodes.Exit));
        Assert.Equal(82UL, Run(engine, program, options: StructuralOnly));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Below_the_current_frame_is_a_violation_even_through_another_register(string engine)
    {
        // r2 = r10 - 520; stxdw [r2], r1 -- 8 bytes below the only frame.
        var program = Program(I(OpCodes.Mov64Reg, 2, 10), I(OpCodes.Add64Imm, 2, imm: -520), I(OpCodes.StxDW, 2, 1, 0), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, options: StructuralOnly);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(2, e.Pc);
        Assert.Equal(MemoryAccessKind.Write, e.Access);
        Assert.Equal(8UL, e.Size);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Addresses_that_wrap_around_are_violations(string engine)
    {
        // r1 = -4: an 8-byte load at 0xffff_ffff_ffff_fffc would wrap past the end of the address space.
        var program = Program(I(OpCodes.Mov64Imm, 1, imm: -4), I(OpCodes.LdxDW, 0, 1, 0), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[16]));
        Assert.Equal(1, e.Pc);
        Assert.Equal(0xffff_ffff_ffff_fffcUL, e.Address);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public unsafe void The_region_table_is_searched_entry_by_entry_with_whole_access_and_write_rules(string engine)
    {
        var first = GC.AllocateArray<byte>(16, pinned: true);
        var readOnly = GC.AllocateArray<byte>(16, pinned: true);
        var third = GC.AllocateArray<byte>(16, pinned: true);
        readOnly[0] = 0x22;
        third[8] = 0x33;
        ulong a1 = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(first, 0);
        ulong a2 = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(readOnly, 0);
        ulong a3 = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(third, 0);
        var environment = new ProgramEnvironment();
        environment.AddRegion(new MemoryRegion(a1, 16, MemoryRegionKind.Allowed));
        environment.AddRegion(new MemoryRegion(a2, 16, MemoryRegionKind.MapValue, writable: false));
        environment.AddRegion(new MemoryRegion(a3, 16, MemoryRegionKind.MapValue));

        // r0 = [third+8] + [readOnly]; [third+8] = 7 (read back by the test)
        var ok = Program(
            Lddw(1, a3), Lddw(2, a2),
            I(OpCodes.LdxDW, 0, 1, 8),
            I(OpCodes.LdxB, 3, 2, 0),
            I(OpCodes.Add64Reg, 0, 3),
            I(OpCodes.StDW, 1, 0, 8, 7),
            I(OpCodes.Exit));
        Assert.Equal(0x33UL + 0x22, Run(engine, ok, environment: environment));
        Assert.Equal(7, third[8]);

        var write = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, Program(Lddw(2, a2), I(OpCodes.StB, 2, 0, 0, 1), I(OpCodes.Exit)), environment: environment, options: StructuralOnly));
        Assert.Equal(2, write.Pc);
        Assert.Equal(MemoryAccessKind.Write, write.Access);
        Assert.Equal(0x22, readOnly[0]);

        // 8 bytes at offset 12 of a 16-byte region: the start is inside, the end is not.
        var straddle = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, Program(Lddw(1, a3), I(OpCodes.LdxDW, 0, 1, 12), I(OpCodes.Exit)), environment: environment));
        Assert.Equal(2, straddle.Pc);
        Assert.Equal(a3 + 12, straddle.Address);
    }
}
