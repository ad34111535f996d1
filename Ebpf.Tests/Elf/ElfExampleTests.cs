using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Elf;

/// <summary>Each example object loads and gives the expected results on every engine; map contents are read from the host.</summary>
public class ElfExampleTests
{
    private const ulong XdpDrop = 1;
    private const ulong XdpPass = 2;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Block_port_drops_tcp_port_9999_and_passes_the_rest(string engine)
    {
        var trace = new StringWriter();
        using var runtime = ExampleFiles.Load("block_port").CreateRuntime(new ElfRuntimeOptions { Helpers = new LinuxHelperOptions { TraceOutput = trace } });
        using var program = runtime.Compile(TestEngines.Get(engine), "xdp");

        Assert.Equal(XdpDrop, program.Run(ExampleFiles.Packet("tcp_9999")));
        Assert.Equal(XdpPass, program.Run(ExampleFiles.Packet("tcp_80")));
        Assert.Equal(XdpPass, program.Run(ExampleFiles.Packet("udp_53")));
        Assert.Equal(XdpPass, program.Run(ExampleFiles.Packet("icmp_echo")));
        Assert.Equal(XdpPass, program.Run(ExampleFiles.Packet("arp")));
        Assert.Equal(XdpPass, program.Run(new byte[10]));
        Assert.Equal(XdpDrop, program.Run(ExampleFiles.Packet("tcp_9999")));

        // The legacy "maps" array counts the verdicts: index 1 = drop, index 2 = pass.
        var verdicts = runtime.GetMap<ArrayMap>("verdicts");
        Assert.True(verdicts.TryLookup(1u, out ulong drops));
        Assert.True(verdicts.TryLookup(2u, out ulong passes));
        Assert.True(verdicts.TryLookup(0u, out ulong zero));
        Assert.Equal((2UL, 5UL, 0UL), (drops, passes, zero));
        Assert.Equal("dropping packet to port 9999\ndropping packet to port 9999\n", trace.ToString());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Count_protocols_fills_a_btf_defined_hash_map(string engine)
    {
        using var runtime = ExampleFiles.Load("count_protocols").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine));
        foreach (var packet in new[] { "tcp_9999", "tcp_80", "udp_53", "icmp_echo", "arp", "tcp_80", "tcp_80" })
        {
            Assert.Equal(XdpPass, program.Run(ExampleFiles.Packet(packet)));
        }

        var counts = runtime.GetMap<HashMap>("protocol_counts");
        var entries = counts.GetEntries<uint, ulong>().ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(new Dictionary<uint, ulong> { [6] = 4, [17] = 1, [1] = 1, [0xffff] = 1 }, entries);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Count_protocols_returns_drop_when_the_map_is_full(string engine)
    {
        using var runtime = ExampleFiles.Load("count_protocols").CreateRuntime();
        var counts = runtime.GetMap<HashMap>("protocol_counts");
        for (uint key = 100; counts.Count < counts.MaxEntries; key++)
        {
            Assert.Equal(MapStatus.Success, counts.Update(key, 0UL, MapUpdateFlags.NoExist));
        }

        using var program = runtime.Compile(TestEngines.Get(engine), "count_protocols");
        Assert.Equal(XdpDrop, program.Run(ExampleFiles.Packet("udp_53")));
        Assert.False(counts.TryLookup(17u, out ulong _));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Count_protocols_counts_every_packet_of_concurrent_runs(string engine)
    {
        using var runtime = ExampleFiles.Load("count_protocols").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine));
        var tcp = ExampleFiles.Packet("tcp_80");
        var udp = ExampleFiles.Packet("udp_53");
        Parallel.For(0, 4, worker =>
        {
            var packet = (byte[])(worker % 2 == 0 ? tcp : udp).Clone();
            for (int i = 0; i < 500; i++)
            {
                program.Run(packet);
            }
        });

        var counts = runtime.GetMap<HashMap>("protocol_counts");
        Assert.True(counts.TryLookup(6u, out ulong tcpCount));
        Assert.True(counts.TryLookup(17u, out ulong udpCount));
        Assert.Equal((1000UL, 1000UL), (tcpCount, udpCount));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Global_data_and_a_local_function(string engine)
    {
        using var runtime = ExampleFiles.Load("global_data").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine), "socket");
        var small = new byte[] { 1, 2, 3, 4, 5 };
        var tcp = ExampleFiles.Packet("tcp_80");

        // weighted_sum: sum of bytes[i] * weights[i & 3] with weights { 1, 2, 3, 4 }.
        Assert.Equal(WeightedSum(small), program.Run(small) & 0xffff_ffff);
        Assert.Equal(1UL * 1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 1, WeightedSum(small));
        Assert.Equal(WeightedSum(tcp), program.Run(tcp) & 0xffff_ffff);
        Assert.Equal(WeightedSum(small), program.Run(small) & 0xffff_ffff);

        var data = runtime.GetMap<ArrayMap>(".data");
        var bss = runtime.GetMap<ArrayMap>(".bss");
        Assert.True(data.TryLookup(0u, out ulong runs));
        Assert.True(bss.TryLookup(0u, out ulong largest));
        Assert.Equal(103UL, runs);
        Assert.Equal(WeightedSum(tcp), largest);

        // .rodata is read-only for programs, .data and .bss are writable.
        Assert.Equal(0, runtime.GetMap(".rodata.cst4").ValueRegion.Writable);
        Assert.Equal(1, data.ValueRegion.Writable);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, runtime.GetMap(".rodata.cst4").Lookup(new byte[4]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Global_data_written_by_the_host_is_seen_by_the_program(string engine)
    {
        using var runtime = ExampleFiles.Load("global_data").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine));
        runtime.GetMap<ArrayMap>(".bss").Update(0u, 1_000_000UL);
        program.Run(new byte[] { 9 });
        Assert.True(runtime.GetMap(".bss").TryLookup(0u, out ulong largest));
        Assert.Equal(1_000_000UL, largest);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_calls_dispatch_by_protocol(string engine)
    {
        using var runtime = ExampleFiles.Load("tail_calls").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine), "dispatch");

        Assert.Equal(600UL + 80, program.Run(ExampleFiles.Packet("tcp_80")));
        Assert.Equal(600UL + (9999 & 0xff), program.Run(ExampleFiles.Packet("tcp_9999")));
        Assert.Equal(1700UL, program.Run(ExampleFiles.Packet("udp_53")));

        // No entry for ICMP (1), and index 0x23 of the ARP packet is beyond max_entries: execution continues after the call.
        Assert.Equal(0UL, program.Run(ExampleFiles.Packet("icmp_echo")));
        Assert.Equal(0UL, program.Run(ExampleFiles.Packet("arp")));

        var table = runtime.GetMap<ProgramArrayMap>("jump_table");
        Assert.Equal(3, table.Count);
        Assert.True(table.Remove(17));
        Assert.Equal(0UL, program.Run(ExampleFiles.Packet("udp_53")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_call_chain_stops_after_33_tail_calls(string engine)
    {
        using var runtime = ExampleFiles.Load("tail_calls").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine), "xdp/chain");
        var packet = ExampleFiles.Packet("tcp_80");

        // The first run plus 33 tail calls: 34 runs of "chain"; the 34th's tail call fails and it returns 1.
        Assert.Equal(1UL, program.Run(packet));
        Assert.True(runtime.GetMap(".bss").TryLookup(0u, out ulong runs));
        Assert.Equal(34UL, runs);

        Assert.Equal(1UL, program.Run(packet));
        Assert.True(runtime.GetMap(".bss").TryLookup(0u, out runs));
        Assert.Equal(68UL, runs);
    }

    private static ulong WeightedSum(byte[] bytes)
    {
        byte[] weights = [1, 2, 3, 4];
        ulong sum = 0;
        for (int i = 0; i < bytes.Length && i < 256; i++)
        {
            sum += (ulong)bytes[i] * weights[i & 3];
        }

        return sum;
    }
}
