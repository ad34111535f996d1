using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Vm;

namespace Ebpf.Tests.Vm;

/// <summary>The usage scenarios of rbpf's README, on the four VM kinds, interpreted and "JIT-compiled" with every engine.</summary>
public unsafe class RbpfReadmeScenarioTests
{
    private static readonly byte[] AddProgram =
    [
        0xb4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // mov32 r0, 0
        0xb4, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // mov32 r1, 2
        0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // add32 r0, 1
        0x0c, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // add32 r0, r1
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // exit
    ];

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void NoData_runs_the_add_example(string engine)
    {
        using var vm = new EbpfVmNoData(AddProgram, TestEngines.Get(engine));
        Assert.Equal(3UL, vm.ExecuteProgram());
        vm.JitCompile();
        Assert.Equal(3UL, vm.ExecuteProgramJit());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Raw_reads_the_packet_directly(string engine)
    {
        byte[] program = [0x71, 0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        byte[] mem = [0xaa, 0xbb, 0x11, 0xcc, 0xdd];
        using var vm = new EbpfVmRaw(program, TestEngines.Get(engine));
        Assert.Equal(0x11UL, vm.ExecuteProgram(mem));
        vm.JitCompile();
        Assert.Equal(0x11UL, vm.ExecuteProgramJit(mem));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Mbuff_follows_the_pointer_the_caller_stored(string engine)
    {
        byte[] program =
        [
            0x79, 0x11, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // ldxdw r1, [r1+8]
            0x69, 0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, // ldxh r0, [r1+2]
            0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // exit
        ];
        var mem = GC.AllocateArray<byte>(6, pinned: true);
        new byte[] { 0xaa, 0xbb, 0x11, 0x22, 0xcc, 0xdd }.CopyTo(mem, 0);
        var mbuff = new byte[32];
        ulong start = (ulong)Unsafe.AsPointer(ref mem[0]);
        BinaryPrimitives.WriteUInt64LittleEndian(mbuff.AsSpan(8), start);
        BinaryPrimitives.WriteUInt64LittleEndian(mbuff.AsSpan(24), start + (ulong)mem.Length);

        using var vm = new EbpfVmMbuff(program, TestEngines.Get(engine));
        Assert.Equal(0x2211UL, vm.ExecuteProgram(mem, mbuff));
        vm.JitCompile();
        Assert.Equal(0x2211UL, vm.ExecuteProgramJit(mem, mbuff));
    }

    /// <summary>A kernel-style filter: data at [r1+0x40], data_end at [r1+0x50]; returns the IPv4 protocol byte, or 0 when the packet is too short.</summary>
    private static readonly string FixedMbuffFilter = """
        ldxdw r2, [r1+0x40]
        ldxdw r3, [r1+0x50]
        mov64 r4, r2
        add64 r4, 24
        jgt r4, r3, +2
        ldxb r0, [r2+23]
        exit
        mov64 r0, 0
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void FixedMbuff_writes_the_packet_bounds_on_every_run(string engine)
    {
        var tcp = new byte[54];
        tcp[23] = 6;
        var udp = new byte[60];
        udp[23] = 17;
        var runt = new byte[20];

        using var vm = new EbpfVmFixedMbuff(Assembler.AssembleBytes(FixedMbuffFilter), 0x40, 0x50, TestEngines.Get(engine));
        Assert.Equal(6UL, vm.ExecuteProgram(tcp));
        Assert.Equal(17UL, vm.ExecuteProgram(udp));
        Assert.Equal(0UL, vm.ExecuteProgram(runt));
        vm.JitCompile();
        Assert.Equal(17UL, vm.ExecuteProgramJit(udp));
        Assert.Equal(6UL, vm.ExecuteProgramJit(tcp));
        Assert.Equal(0UL, vm.ExecuteProgramJit(runt));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void FixedMbuff_with_the_trace_helper_as_in_the_block_port_example(string engine)
    {
        // Prints the packet length with bpf_trace_printk, then returns the TCP destination port (big-endian) of the packet.
        var program = Assembler.AssembleBytes("""
            ldxdw r6, [r1+0x40]
            ldxdw r7, [r1+0x50]
            mov64 r5, r7
            sub64 r5, r6
            mov64 r3, 0
            mov64 r4, 0
            call 6
            ldxh r0, [r6+36]
            be16 r0
            exit
            """);
        byte[] packet =
        [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x08, 0x00,
            0x45, 0x00, 0x00, 0x3b, 0xa6, 0xab, 0x40, 0x00, 0x40, 0x06, 0x96, 0x0f, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
            0x99, 0x99, 0xc6, 0xcc, 0xd1, 0xe5, 0xc4, 0x9d, 0xd4, 0x30, 0xb5, 0xd2, 0x80, 0x18, 0x01, 0x56, 0xfe, 0x2f, 0x00, 0x00,
            0x01, 0x01, 0x08, 0x0a, 0x00, 0x23, 0x75, 0x89, 0x00, 0x23, 0x63, 0x2d, 0x71, 0x64, 0x66, 0x73, 0x64, 0x66, 0x0a,
        ];
        var output = new StringWriter();
        using var vm = new EbpfVmFixedMbuff(program, 0x40, 0x50, TestEngines.Get(engine));
        vm.RegisterHelper(RbpfHelpers.TracePrintk(output));
        Assert.Equal(0xc6ccUL, vm.ExecuteProgram(packet));
        Assert.Equal("bpf_trace_printf: 0x0, 0x0, 0x49\n", output.ToString());
        vm.JitCompile();
        Assert.Equal(0xc6ccUL, vm.ExecuteProgramJit(packet));
    }
}
