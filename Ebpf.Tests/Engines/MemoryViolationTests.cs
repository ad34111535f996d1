using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public unsafe class MemoryViolationTests
{
    /// <summary>
    /// <see cref="TestPrograms.Run"/> with <see cref="VerificationMode.Structural"/> verification: these programs escape
    /// on purpose (the default, hybrid, refuses them at compile time), and what is tested is the run-time check.
    /// </summary>
    private static ulong Run(string engine, EbpfProgram program, byte[]? memory = null, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
        TestPrograms.Run(engine, program, memory, environment, (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    private static ulong AddressOf(byte[] pinned) => (ulong)Unsafe.AsPointer(ref pinned[0]);

    private static EbpfMemoryAccessException Violation(string engine, EbpfProgram program, byte[]? memory = null, ProgramEnvironment? environment = null)
    {
        var e = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, program, memory, environment));
        Assert.Equal(RuntimeErrorKind.MemoryAccessViolation, e.Kind);
        return e;
    }

    private static void AssertAccess(EbpfMemoryAccessException e, int pc, ulong address, ulong size, MemoryAccessKind access)
    {
        Assert.Equal(pc, e.Pc);
        Assert.Equal(address, e.Address);
        Assert.Equal(size, e.Size);
        Assert.Equal(access, e.Access);
    }

    /// <summary>The current frame's bounds as the error describes them.</summary>
    private static (ulong Low, ulong End) StackOf(EbpfMemoryAccessException e)
    {
        var m = Regex.Match(e.Regions, "stack 0x([0-9a-f]+)\\.\\.0x([0-9a-f]+)");
        Assert.True(m.Success, e.Regions);
        return (ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Read_one_byte_below_the_input(string engine)
    {
        var memory = GC.AllocateArray<byte>(4, pinned: true);
        var e = Violation(engine, Program(I(OpCodes.LdxB, 0, 1, -1), I(OpCodes.Exit)), memory);
        AssertAccess(e, 0, AddressOf(memory) - 1, 1, MemoryAccessKind.Read);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Read_just_above_the_input(string engine)
    {
        var memory = GC.AllocateArray<byte>(4, pinned: true);
        var e = Violation(engine, Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.LdxB, 0, 1, 4), I(OpCodes.Exit)), memory);
        AssertAccess(e, 1, AddressOf(memory) + 4, 1, MemoryAccessKind.Read);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Access_straddling_the_end_of_the_input(string engine)
    {
        var memory = GC.AllocateArray<byte>(4, pinned: true);
        var e = Violation(engine, Program(I(OpCodes.LdxW, 0, 1, 2), I(OpCodes.Exit)), memory);
        AssertAccess(e, 0, AddressOf(memory) + 2, 4, MemoryAccessKind.Read);

        var w = Violation(engine, Program(I(OpCodes.StxDW, 1, 2, -4), I(OpCodes.Exit)), memory);
        AssertAccess(w, 0, AddressOf(memory) - 4, 8, MemoryAccessKind.Write);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Address_wrapping_around_the_address_space(string engine)
    {
        // r1 = -4: an 8-byte read at 0xffff_ffff_ffff_fffc would end past 2^64.
        var e = Violation(engine, Program(I(OpCodes.Mov64Imm, 1, imm: -4), I(OpCodes.LdxDW, 0, 1), I(OpCodes.Exit)));
        AssertAccess(e, 1, 0xffff_ffff_ffff_fffcUL, 8, MemoryAccessKind.Read);

        // The input's address plus a large register wraps to below it.
        var memory = GC.AllocateArray<byte>(8, pinned: true);
        var program = Program(Lddw(2, 0x8000_0000_0000_0000), I(OpCodes.Add64Reg, 1, 2), I(OpCodes.Add64Reg, 1, 2), I(OpCodes.LdxB, 0, 1, -1), I(OpCodes.Exit));
        var w = Violation(engine, program, memory);
        AssertAccess(w, 4, AddressOf(memory) - 1, 1, MemoryAccessKind.Read);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Stack_access_above_the_frame(string engine)
    {
        var e = Violation(engine, Program(I(OpCodes.StxDW, 10, 1, 0), I(OpCodes.Exit)));
        var (_, end) = StackOf(e);
        AssertAccess(e, 0, end, 8, MemoryAccessKind.Write);

        var straddle = Violation(engine, Program(I(OpCodes.LdxDW, 0, 10, -4), I(OpCodes.Exit)));
        AssertAccess(straddle, 0, StackOf(straddle).End - 4, 8, MemoryAccessKind.Read);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Stack_access_below_the_frame(string engine)
    {
        var e = Violation(engine, Program(I(OpCodes.StB, 10, 0, -513, 1), I(OpCodes.Exit)));
        var (low, end) = StackOf(e);
        Assert.Equal(512UL, end - low);
        AssertAccess(e, 0, low - 1, 1, MemoryAccessKind.Write);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_whole_frame_is_usable(string engine)
    {
        // stb [r10-512], 7; stb [r10-1], 5; ldxb r0, [r10-512]; ldxb r1, [r10-1]; add r0, r1
        var program = Program(
            I(OpCodes.StB, 10, 0, -512, 7), I(OpCodes.StB, 10, 0, -1, 5),
            I(OpCodes.LdxB, 0, 10, -512), I(OpCodes.LdxB, 1, 10, -1), I(OpCodes.Add64Reg, 0, 1), I(OpCodes.Exit));
        Assert.Equal(12UL, Run(engine, program));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_frame_size_from_the_options_is_honoured(string engine)
    {
        var options = new ExecutionOptions { StackSize = 64 };
        var program = Program(I(OpCodes.StB, 10, 0, -65, 1), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, program, options: options));
        var (low, end) = StackOf(e);
        Assert.Equal(64UL, end - low);
        AssertAccess(e, 0, low - 1, 1, MemoryAccessKind.Write);
        Assert.Equal(0UL, Run(engine, Program(I(OpCodes.StB, 10, 0, -64, 1), I(OpCodes.Mov64Imm, 0), I(OpCodes.Exit)), options: options));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void No_memory_means_r1_is_zero_and_nothing_to_read(string engine)
    {
        var e = Violation(engine, Program(I(OpCodes.LdxB, 0, 1), I(OpCodes.Exit)));
        AssertAccess(e, 0, 0, 1, MemoryAccessKind.Read);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Metadata_and_input_are_both_reachable(string engine)
    {
        var packet = GC.AllocateArray<byte>(4, pinned: true);
        packet[3] = 0x5a;
        var metadata = GC.AllocateArray<byte>(16, pinned: true);
        BitConverter.TryWriteBytes(metadata.AsSpan(0, 8), AddressOf(packet));
        metadata[8] = 0x01;

        // ldxdw r2, [r1+0]; ldxb r0, [r2+3]; ldxb r3, [r1+8]; add r0, r3; add r0, r2(len check below)
        var ok = Program(I(OpCodes.LdxDW, 2, 1, 0), I(OpCodes.LdxB, 0, 2, 3), I(OpCodes.LdxB, 3, 1, 8), I(OpCodes.Add64Reg, 0, 3), I(OpCodes.Exit));
        using (var compiled = TestEngines.Get(engine).Compile(ok))
        {
            Assert.Equal(0x5bUL, compiled.Run(packet, metadata));
        }

        var beyondPacket = Program(I(OpCodes.LdxDW, 2, 1, 0), I(OpCodes.LdxB, 0, 2, 4), I(OpCodes.Exit));
        using (var compiled = TestEngines.Get(engine).Compile(beyondPacket))
        {
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(packet, metadata));
            AssertAccess(e, 1, AddressOf(packet) + 4, 1, MemoryAccessKind.Read);
        }

        var beyondMetadata = Program(I(OpCodes.LdxDW, 0, 1, 9), I(OpCodes.Exit));
        using (var compiled = TestEngines.Get(engine).Compile(beyondMetadata))
        {
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(packet, metadata));
            AssertAccess(e, 0, AddressOf(metadata) + 9, 8, MemoryAccessKind.Read);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Allowed_regions_are_checked_in_full(string engine)
    {
        var region = GC.AllocateArray<byte>(16, pinned: true);
        region[15] = 0x77;
        ulong address = AddressOf(region);
        var environment = new ProgramEnvironment();
        environment.AddRegion(new MemoryRegion(address, 16, MemoryRegionKind.Allowed));

        Assert.Equal(0x77UL, Run(engine, Program(Lddw(1, address), I(OpCodes.LdxB, 0, 1, 15), I(OpCodes.Exit)), environment: environment));

        var straddle = Violation(engine, Program(Lddw(1, address), I(OpCodes.LdxW, 0, 1, 14), I(OpCodes.Exit)), environment: environment);
        AssertAccess(straddle, 2, address + 14, 4, MemoryAccessKind.Read);

        var outside = Violation(engine, Program(Lddw(1, address), I(OpCodes.StB, 1, 0, 16, 1), I(OpCodes.Exit)), environment: environment);
        AssertAccess(outside, 2, address + 16, 1, MemoryAccessKind.Write);
        Assert.Contains("allowed", outside.Regions);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_read_only_region_can_be_read_but_not_written(string engine)
    {
        var region = GC.AllocateArray<byte>(8, pinned: true);
        region[0] = 9;
        ulong address = AddressOf(region);
        var environment = new ProgramEnvironment();
        environment.AddRegion(new MemoryRegion(address, 8, MemoryRegionKind.MapValue, writable: false));

        Assert.Equal(9UL, Run(engine, Program(Lddw(1, address), I(OpCodes.LdxB, 0, 1), I(OpCodes.Exit)), environment: environment));

        var e = Violation(engine, Program(Lddw(1, address), I(OpCodes.StB, 1, 0, 0, 1), I(OpCodes.Exit)), environment: environment);
        AssertAccess(e, 2, address, 1, MemoryAccessKind.Write);
        var atomic = Violation(engine, Program(Lddw(1, address), I(OpCodes.Mov64Imm, 2, imm: 1), I(OpCodes.AtomicDW, 1, 2, 0, 0), I(OpCodes.Exit)), environment: environment);
        AssertAccess(atomic, 3, address, 8, MemoryAccessKind.Write);
        Assert.Equal(9, region[0]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Legacy_packet_loads_read_only_the_input(string engine)
    {
        var memory = GC.AllocateArray<byte>(4, pinned: true);
        memory[0] = 0x11;
        memory[1] = 0x22;
        memory[2] = 0x33;
        memory[3] = 0x44;
        Assert.Equal(0x44332211UL, Run(engine, Program(I(OpCodes.LdAbsW, imm: 0), I(OpCodes.Exit)), memory));

        var abs = Violation(engine, Program(I(OpCodes.LdAbsH, imm: 3), I(OpCodes.Exit)), memory);
        AssertAccess(abs, 0, AddressOf(memory) + 3, 2, MemoryAccessKind.Read);

        // ldindb with src = 2 and imm = 2: offset 4, just past the end.
        var ind = Violation(engine, Program(I(OpCodes.Mov64Imm, 1, imm: 2), I(OpCodes.LdIndB, 0, 1, 0, 2), I(OpCodes.Exit)), memory);
        AssertAccess(ind, 1, AddressOf(memory) + 4, 1, MemoryAccessKind.Read);

        // The stack is not the packet: no input at all means every packet load fails.
        var none = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, Program(I(OpCodes.LdAbsB, imm: 0), I(OpCodes.Exit))));
        Assert.Equal(0, none.Pc);
        Assert.Equal(1UL, none.Size);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_callee_may_use_its_callers_frame_but_not_beyond_the_stack(string engine)
    {
        // main: stdw [r10-8], 0x2a; mov r1, r10; add r1, -8; call f; exit
        // f:    ldxdw r0, [r1+0]; exit
        var program = Program(
            I(OpCodes.StDW, 10, 0, -8, 0x2a), I(OpCodes.Mov64Reg, 1, 10), I(OpCodes.Add64Imm, 1, imm: -8), I(OpCodes.Call, 0, 1, 0, 1), I(OpCodes.Exit),
            I(OpCodes.LdxDW, 0, 1, 0), I(OpCodes.Exit));
        Assert.Equal(0x2aUL, Run(engine, program));

        // f reads 8 bytes at the caller's r10: past the whole stack.
        var beyond = Program(I(OpCodes.Mov64Reg, 1, 10), I(OpCodes.Call, 0, 1, 0, 1), I(OpCodes.Exit), I(OpCodes.LdxDW, 0, 1, 0), I(OpCodes.Exit));
        var e = Violation(engine, beyond);
        var (low, end) = StackOf(e);
        Assert.Equal(1024UL, end - low);
        AssertAccess(e, 3, end, 8, MemoryAccessKind.Read);
    }
}
