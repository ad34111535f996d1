using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>The helpers of the kernel map types, called by hand-written programs on every engine.</summary>
public class KernelMapHelperTests
{
    private const ulong ENOENT = unchecked((ulong)-2L);
    private const ulong EINVAL = unchecked((ulong)-22L);

    private static Instruction[] LoadMap(byte dst, int index) =>
        [new(OpCodes.Lddw, dst, (byte)LddwSource.MapByIndex, 0, index), new(0, 0, 0, 0, 0)];

    private static Instruction Call(uint helper) => I(OpCodes.Call, 0, 0, 0, (int)helper);

    /// <summary>r2 = r10 + offset.</summary>
    private static Instruction[] StackPointer(byte register, short offset) =>
        [I(OpCodes.Mov64Reg, register, 10), I(OpCodes.Add64Imm, register, 0, 0, offset)];

    private static ProgramEnvironment EnvironmentWith(LinuxHelperOptions? options, params BpfMap[] maps)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment(), options);
        foreach (var map in maps)
        {
            environment.AddMap(map);
        }

        return environment;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Per_cpu_lookups_see_the_runs_cpu_and_the_processor_id_defaults_to_0(string engine)
    {
        using var map = new ArrayMap(new MapDefinition("pc", BpfMapType.PerCpuArray, 4, 8, 1) { PossibleCpus = 2 });
        map.Update(BitConverter.GetBytes(0u), [.. BitConverter.GetBytes(10UL), .. BitConverter.GetBytes(11UL)]);

        // key 0 at r10-4; r0 = lookup ? *(u64*)r0 + smp_processor_id() * 100 : 0xff
        var program = Program(
            I(OpCodes.StW, 10, 0, -4, 0),
            LoadMap(1, 0),
            StackPointer(2, -4),
            Call(LinuxHelperIds.MapLookupElem),
            I(OpCodes.JneImm, 0, 0, 2, 0),
            I(OpCodes.Mov64Imm, 0, 0, 0, 0xff),
            I(OpCodes.Exit),
            I(OpCodes.LdxDW, 6, 0, 0),
            Call(LinuxHelperIds.GetSmpProcessorId),
            I(OpCodes.Mul64Imm, 0, 0, 0, 100),
            I(OpCodes.Add64Reg, 0, 6),
            I(OpCodes.Exit));
        Assert.Equal(10UL, Run(engine, program, environment: EnvironmentWith(null, map)));
        Assert.Equal(111UL, Run(engine, program, environment: EnvironmentWith(new LinuxHelperOptions { ProcessorId = 1 }, map)));
        Assert.Equal(0xffUL, Run(engine, program, environment: EnvironmentWith(new LinuxHelperOptions { ProcessorId = 2 }, map)));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Push_peek_and_pop_copy_values_and_report_an_empty_queue(string engine)
    {
        using var queue = new QueueMap(new MapDefinition("q", BpfMapType.Queue, 0, 4, 2));
        var environment = EnvironmentWith(null, queue);
        var pushPeek = Program(
            I(OpCodes.StW, 10, 0, -4, 77),
            LoadMap(1, 0),
            StackPointer(2, -4),
            I(OpCodes.Mov64Imm, 3, 0, 0, 0),
            Call(LinuxHelperIds.MapPushElem),
            I(OpCodes.JneImm, 0, 0, 6, 0),
            LoadMap(1, 0),
            StackPointer(2, -8),
            Call(LinuxHelperIds.MapPeekElem),
            I(OpCodes.LdxW, 0, 10, -8),
            I(OpCodes.Exit));
        var pop = Program(LoadMap(1, 0), StackPointer(2, -8), Call(LinuxHelperIds.MapPopElem), I(OpCodes.Exit));
        Assert.Equal(77UL, Run(engine, pushPeek, environment: environment));
        Assert.Equal(1, queue.Count);
        Assert.Equal(0UL, Run(engine, pop, environment: environment));
        Assert.Equal(ENOENT, Run(engine, pop, environment: environment));
        Assert.Equal(0, queue.Count);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Map_helpers_refuse_maps_of_the_wrong_type(string engine)
    {
        using var queue = new QueueMap(new MapDefinition("q", BpfMapType.Queue, 0, 4, 2));
        using var hash = new HashMap("h", 4, 4, 2);
        var environment = EnvironmentWith(null, queue, hash);

        // bpf_map_update_elem on a queue is -EINVAL (Linux's verifier rejects it; the helper refuses it too).
        var update = Program(LoadMap(1, 0), StackPointer(2, -8), StackPointer(3, -8), I(OpCodes.Mov64Imm, 4), Call(LinuxHelperIds.MapUpdateElem), I(OpCodes.Exit));
        Assert.Equal(EINVAL, Run(engine, update, new byte[8], environment, StructuralOnly));

        // bpf_map_push_elem on a hash map ends the run with a helper error naming the helper.
        var push = Program(I(OpCodes.StW, 10, 0, -4, 1), LoadMap(1, 1), StackPointer(2, -4), I(OpCodes.Mov64Imm, 3), Call(LinuxHelperIds.MapPushElem), I(OpCodes.Exit));
        var error = Assert.Throws<EbpfHelperException>(() => Run(engine, push, environment: environment));
        Assert.Contains("bpf_map_push_elem: r1 = 0x", error.Message);
        Assert.Contains("is not a queue or stack map", error.Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Ring_buffer_helpers_follow_linux_and_refuse_foreign_pointers(string engine)
    {
        using var ring = new RingBufferMap("rb", 4096);
        var environment = EnvironmentWith(null, ring);

        // reserve(8, flags 1) and reserve(5000) give NULL; output with unknown flags is -EINVAL.
        var reserveFlags = Program(LoadMap(1, 0), I(OpCodes.Mov64Imm, 2, 0, 0, 8), I(OpCodes.Mov64Imm, 3, 0, 0, 1), Call(LinuxHelperIds.RingbufReserve), I(OpCodes.Exit));
        var reserveHuge = Program(LoadMap(1, 0), I(OpCodes.Mov64Imm, 2, 0, 0, 5000), I(OpCodes.Mov64Imm, 3), Call(LinuxHelperIds.RingbufReserve), I(OpCodes.Exit));
        var output = Program(LoadMap(1, 0), StackPointer(2, -8), I(OpCodes.Mov64Imm, 3, 0, 0, 8), I(OpCodes.Mov64Imm, 4, 0, 0, 4), I(OpCodes.StDW, 10, 0, -8, 5), Call(LinuxHelperIds.RingbufOutput), I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, reserveFlags, environment: environment));
        Assert.Equal(0UL, Run(engine, reserveHuge, environment: environment));
        Assert.Equal(EINVAL, Run(engine, output, environment: environment));

        // A reservation written through its pointer and submitted; BPF_RB_NO_WAKEUP (1) is accepted.
        var reserveWriteSubmit = Program(
            LoadMap(1, 0),
            I(OpCodes.Mov64Imm, 2, 0, 0, 4),
            I(OpCodes.Mov64Imm, 3),
            Call(LinuxHelperIds.RingbufReserve),
            I(OpCodes.JeqImm, 0, 0, 4, 0),
            I(OpCodes.StW, 0, 0, 0, 0x01020304),
            I(OpCodes.Mov64Reg, 1, 0),
            I(OpCodes.Mov64Imm, 2, 0, 0, 1),
            Call(LinuxHelperIds.RingbufSubmit),
            LoadMap(1, 0),
            I(OpCodes.Mov64Imm, 2, 0, 0, 3),
            Call(LinuxHelperIds.RingbufQuery),
            I(OpCodes.Exit));
        Assert.Equal(16UL, Run(engine, reserveWriteSubmit, environment: environment));
        Assert.True(ring.TryRead(out var record));
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, record);

        // Submitting a pointer that is not a pending reservation ends the run.
        var submitStack = Program(StackPointer(1, -8), I(OpCodes.Mov64Imm, 2), Call(LinuxHelperIds.RingbufSubmit), I(OpCodes.Exit));
        Assert.Contains("is not a ring buffer record reserved", Assert.Throws<EbpfHelperException>(() => Run(engine, submitStack, environment: environment)).Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Spin_lock_misuse_ends_the_run_instead_of_hanging(string engine)
    {
        using var map = new ArrayMap("locks", 16, 1);
        var environment = EnvironmentWith(null, map);
        Instruction[] lookup = [I(OpCodes.StW, 10, 0, -4, 0), .. LoadMap(1, 0), .. StackPointer(2, -4), Call(LinuxHelperIds.MapLookupElem), I(OpCodes.Mov64Reg, 6, 0)];

        var unlock = Program(lookup, I(OpCodes.Mov64Reg, 1, 6), Call(LinuxHelperIds.SpinUnlock), I(OpCodes.Exit));
        Assert.Contains("bpf_spin_unlock: the lock at 0x", Assert.Throws<EbpfHelperException>(() => Run(engine, unlock, environment: environment)).Message);

        var misaligned = Program(lookup, I(OpCodes.Mov64Reg, 1, 6), I(OpCodes.Add64Imm, 1, 0, 0, 2), Call(LinuxHelperIds.SpinLock), I(OpCodes.Exit));
        Assert.Contains("is not 4-byte aligned", Assert.Throws<EbpfHelperException>(() => Run(engine, misaligned, environment: environment)).Message);

        // Taking the lock twice in one run: the second bpf_spin_lock gives up after its time limit.
        var twice = Program(lookup, I(OpCodes.Mov64Reg, 1, 6), Call(LinuxHelperIds.SpinLock), I(OpCodes.Mov64Reg, 1, 6), Call(LinuxHelperIds.SpinLock), I(OpCodes.Exit));
        Assert.Contains("stayed taken", Assert.Throws<EbpfHelperException>(() => Run(engine, twice, environment: environment)).Message);
        Assert.Equal(1u, BitConverter.ToUInt32(map.GetValueSpan(0)));
    }
}
