using Ebpf.Elf;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>Loading kernel programs: the context rewrite, missing helpers, types per runtime, helpers outside a test run.</summary>
public sealed class KernelProgramTests
{
    private static ElfRuntime Runtime(string name) => KernelOracleCase.Runtime(name);

    private static byte[] Packet(string name) => KernelOracleCase.Frame(name);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Packet_pointer_loads_become_64_bit_loads_of_the_run_context(string engine)
    {
        using var runtime = Runtime("xdp_parse");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
        Assert.Equal(KernelProgramType.Xdp, program.Type);
        var original = runtime.GetProgram();

        // xdp_parse reads ctx->data and ctx->data_end once each at its start (ldxw r8, [r1+0]; ldxw r6, [r1+4]).
        Assert.Equal(2, program.RewrittenLoads);
        Assert.Equal((0x61, (short)0, (short)4), (original.Instructions[0].OpCode, original.Instructions[0].Offset, original.Instructions[1].Offset));
        Assert.Equal((0x79, (short)24), (program.Program.Instructions[0].OpCode, program.Program.Instructions[0].Offset));
        Assert.Equal((0x79, (short)32), (program.Program.Instructions[1].OpCode, program.Program.Instructions[1].Offset));
        Assert.Equal(original.Instructions.Skip(2), program.Program.Instructions.Skip(2));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_map_pinned_by_name_loads_and_its_pinning_is_ignored(string engine)
    {
        // Ebpf.Tests/Elf/Objects/pinned_map.c: __uint(pinning, LIBBPF_PIN_BY_NAME). The kernel (kern_run, pinning
        // off as in every test run) gave retval 2 and the value 21 after 3 repeats that add 7 each.
        using var runtime = ElfLoader.Load(Path.Combine(ConformanceSuite.RepositoryRoot, "Ebpf.Tests", "Elf", "Objects", "pinned_map.o")).CreateRuntime();
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "count_pinned");
        var result = program.TestRun(Packet("udp4_53"), new TestRunOptions { Repeat = 3 });
        Assert.Equal(2u, result.ReturnValue);
        Assert.Equal("map pinned_counts key=00000000 value=1500000000000000", Assert.Single(MapSnapshot.Lines(runtime)));
    }

    [Fact]
    public void A_helper_the_type_does_not_offer_is_a_load_error_naming_it()
    {
        using var runtime = Runtime("tc_skb");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(runtime, TestEngines.All[0], "tc_vlan", KernelProgramType.SocketFilter));
        Assert.Equal("program 'tc_vlan' calls bpf_skb_vlan_push (helper 18), bpf_skb_vlan_pop (helper 19), bpf_get_hash_recalc (helper 34), not implemented for SocketFilter programs", error.Message);
    }

    [Fact]
    public void A_program_array_target_of_another_type_is_a_load_error()
    {
        // xdp_tail's program array holds XDP programs: loading its entry as a tc program cannot fill it.
        using var runtime = Runtime("xdp_tail");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(runtime, TestEngines.All[0], "xdp_tail", KernelProgramType.SchedCls));
        Assert.Equal("program 'tail_l3' (section 'xdp') is of type Xdp; a program array of a SchedCls program can only hold SchedCls programs, as in the kernel", error.Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_call_targets_are_compiled_once_per_runtime_and_engine(string engine)
    {
        using var runtime = Runtime("xdp_tail");
        var stages = runtime.GetMap<Ebpf.Maps.ProgramArrayMap>("stages");
        using var first = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_tail");
        var target = stages.Get(0);
        using var second = KernelProgram.Load(runtime, TestEngines.Get(engine), "tail_l3");
        Assert.NotNull(target);
        Assert.Same(target, stages.Get(0));
        Assert.NotNull(stages.Get(1));
        Assert.Null(stages.Get(2));
        // The target runs with its context loads rewritten: tail_l3 reads data and data_end.
        Assert.Equal(2u, first.TestRun(Packet("udp4_53")).ReturnValue);
    }

    [Fact]
    public void A_runtime_serves_one_program_type()
    {
        using var runtime = Runtime("tc_skb");
        using var tc = KernelProgram.Load(runtime, TestEngines.All[0], "tc_redirect");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(runtime, TestEngines.All[0], "tc_redirect", KernelProgramType.Xdp));
        Assert.Contains("serves SchedCls programs", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Packet_helpers_outside_a_test_run_fail_the_run_with_a_helper_error(string engine)
    {
        using var runtime = Runtime("tc_skb");
        using (KernelProgram.Load(runtime, TestEngines.Get(engine), "tc_resize"))
        {
        }

        // The runtime's environment now has the tc helpers; an ordinary run has no packet for them.
        using var plain = runtime.Compile(TestEngines.Get(engine), "tc_resize");
        var error = Assert.Throws<EbpfHelperException>(() => plain.Run(Packet("udp4_53")));
        Assert.Contains("bpf_skb_adjust_room works on the packet of a test run", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Repeated_runs_carry_state_over_as_in_the_kernel(string engine)
    {
        using var runtime = Runtime("xdp_parse");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
        var result = program.TestRun(Packet("udp4_53"), new TestRunOptions { Repeat = 1000 });
        Assert.Equal(2u, result.ReturnValue);
        Assert.True(result.DurationNanoseconds > 0);
        Assert.True(runtime.GetMap("stats").TryLookup<uint, (ulong Packets, ulong Bytes)>(2, out var udp));
        Assert.Equal((1000ul, 56_000ul), udp);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_xdp_context_has_the_given_interface_and_queue(string engine)
    {
        using var runtime = Runtime("xdp_adjust");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_meta");
        var result = program.TestRun(Packet("arp"), new TestRunOptions { IngressIfindex = 9, RxQueueIndex = 3 });

        // xdp_meta writes 0x11223344 and ingress_ifindex + (rx_queue_index << 16) as metadata in front of the frame.
        Assert.Equal("44332211" + "09000300", Convert.ToHexStringLower(result.Output.AsSpan(0, 8)));
        Assert.Equal([9, 0, 0, 0, 3, 0, 0, 0], result.Context.AsSpan(12, 8).ToArray());
    }

    [Fact]
    public void A_run_count_below_one_is_refused()
    {
        using var runtime = Runtime("xdp_pass");
        using var program = KernelProgram.Load(runtime, TestEngines.All[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => program.TestRun(Packet("arp"), new TestRunOptions { Repeat = 0 }));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_frame_longer_than_the_xdp_buffer_goes_into_fragments_up_to_17_pages(string engine)
    {
        // Linux 6.18 (kern_run, 2026-12-03; xdp_frags.c): a 73,152-byte frame (3,520 in the buffer, 17 pages) runs,
        // xdp_linear_len sees 3,520 bytes (retval=3 after writing the buffer's last byte, size_out=73152); one byte more
        // is refused with ENOMEM.
        using var runtime = Runtime("xdp_frags");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_linear_len");
        var frame = new byte[73152];
        for (int i = 0; i < frame.Length; i++)
        {
            frame[i] = (byte)(i % 251);
        }

        var result = program.TestRun(frame);
        Assert.Equal((3u, 73152), (result.ReturnValue, result.Output.Length));
        frame[3519] = 0xee;
        Assert.Equal(frame, result.Output);
        Assert.True(runtime.GetMap("seen").TryLookup<uint, int>(1, out int linear));
        Assert.Equal(3520, linear);
        var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(new byte[73153]));
        Assert.Contains("more than the 73152 an XDP test run takes", error.Message, StringComparison.Ordinal);
        Assert.Contains("(ENOMEM)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tc_skb", "tc_redirect", 7u)]
    [InlineData("socket_udp", "socket_udp", 3698u)]
    public void A_socket_buffer_takes_a_frame_of_up_to_3712_bytes_as_in_the_kernel(string objectName, string name, uint verdict)
    {
        // Linux 6.18 (kern_run, 2026-12-03): udp4_53 padded with zeros to 3,712 bytes runs (tc_redirect: retval=7
        // size_out=3712; socket_udp: the frame from the network header, 3,698 bytes), 3,713 bytes is refused (EINVAL):
        // a page less the headroom NET_SKB_PAD (64) and the shared info (320).
        using var runtime = Runtime(objectName);
        using var program = KernelProgram.Load(runtime, TestEngines.All[0], name);
        var frame = new byte[3712];
        Packet("udp4_53").CopyTo(frame, 0);
        var result = program.TestRun(frame);
        Assert.Equal((verdict, 3712), (result.ReturnValue, result.Output.Length));
        var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(new byte[3713]));
        Assert.Contains("more than the 3712", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An XDP program written in assembly: the EtherType (as a little-endian load) when 20 bytes are there, else XDP_DROP.</summary>
    private const string EtherTypeOrDrop = "ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov r0, 1\nmov r4, r2\nadd r4, 20\njgt r4, r3, +1\nldxh r0, [r2+12]\nexit";

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_given_as_bytecode_loads_with_its_context_loads_rewritten(string engine)
    {
        var environment = Ebpf.Helpers.LinuxHelpers.Register(new ProgramEnvironment());
        var bytecode = EbpfProgram.Create(Ebpf.Assembly.Assembler.Assemble(EtherTypeOrDrop), Ebpf.Verification.Verifier.Default, "ethertype");
        using var program = KernelProgram.Load(bytecode, KernelProgramType.Xdp, environment, TestEngines.Get(engine));
        Assert.Null(program.Runtime);
        Assert.Same(environment, program.Environment);
        Assert.Equal(2, program.RewrittenLoads);
        Assert.True(environment.Helpers.TryGet(PacketHelpers.XdpAdjustHead, out _)); // the type's helpers were registered

        var frame = Packet("tcp4_80");
        uint etherType = (uint)(frame[12] | (frame[13] << 8));
        Assert.Equal(etherType, program.TestRun(frame).ReturnValue);
        Assert.Equal(etherType, program.TestRun(frame.AsSpan(0, 20)).ReturnValue);
        Assert.Equal(1u, program.TestRun(frame.AsSpan(0, 19)).ReturnValue);
        var error = Assert.Throws<EbpfTestRunException>(() => program.TestRun(frame.AsSpan(0, 13)));
        Assert.Contains("fewer than an Ethernet header", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_environment_given_with_bytecode_serves_one_program_type()
    {
        var environment = Ebpf.Helpers.LinuxHelpers.Register(new ProgramEnvironment());
        var bytecode = EbpfProgram.Create(Ebpf.Assembly.Assembler.Assemble(EtherTypeOrDrop), Ebpf.Verification.Verifier.Default);
        using var xdp = KernelProgram.Load(bytecode, KernelProgramType.Xdp, environment, TestEngines.All[0]);
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(bytecode, KernelProgramType.SchedCls, environment, TestEngines.All[0]));
        Assert.Contains("this environment serves Xdp programs", error.Message, StringComparison.Ordinal);
        Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(bytecode, (KernelProgramType)7, new ProgramEnvironment(), TestEngines.All[0]));
    }
}
