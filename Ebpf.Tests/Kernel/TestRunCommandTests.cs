using Ebpf.Kernel.Pcap;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary><c>ebpf test-run</c>: the kernel oracle's line format, maps, JSON, captures and one-line errors.</summary>
public sealed class TestRunCommandTests
{
    private static string Object(string name) => Path.Combine(KernelOracleCase.Directory, name + ".o");

    private static string Packet(string name) => Path.Combine(KernelOracleCase.Directory, "packets", name + ".bin");

    private static string WithoutDuration(string line) => line[..line.IndexOf(" duration_ns=", StringComparison.Ordinal)];

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_line_and_the_maps_are_the_kernels(string engine)
    {
        var kernel = KernelOracleCase.All["tc_skb tc_skb udp4_53 --set-map skb_seen 01000000 0100000002000000030000000400000005000000060000000700000008000000090000000a000000"];
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("udp4_53"), "--maps", "--engine", engine,
            "--set-map", "skb_seen", "01000000", "0100000002000000030000000400000005000000060000000700000008000000090000000a000000");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.Matches(" duration_ns=[0-9]+$", result.OutLines[0]);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Ring_buffer_records_are_printed_with_the_maps_as_the_kernel_wrote_them(string engine)
    {
        var kernel = KernelOracleCase.All["xdp_events xdp_events tcp4_9999"];
        var result = Tool.Run("test-run", Object("xdp_events"), "xdp_events", "--packet", Packet("tcp4_9999"), "--maps", "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.Equal(2, kernel.Maps.Count);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_calls_through_a_program_array_initialised_in_the_object_work_in_test_run(string engine)
    {
        var kernel = KernelOracleCase.All["xdp_tail xdp_tail tcp4_9999 --load-all --skip-map stages"];
        var result = Tool.Run("test-run", Object("xdp_tail"), "xdp_tail", "--packet", Packet("tcp4_9999"), "--maps", "--repeat", "3", "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.Equal("map stages skipped=type_3", result.OutLines[1]);
        // Three runs through xdp_tail, tail_l3 and tail_l4 (the kernel's counts of one run, times three).
        Assert.Equal(kernel.Maps.Skip(1).Select(line => line.Replace("value=01", "value=03", StringComparison.Ordinal)), result.OutLines.Skip(2));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_timeout_stops_a_long_repeat_of_a_bounded_program_between_runs(string engine)
    {
        // Two billion runs would take minutes; the time limit, looked at between the runs, ends it after 50 ms.
        var result = Tool.Run("test-run", Object("xdp_pass"), "xdp_pass", "--packet", Packet("udp4_53"), "--repeat", "2000000000", "--timeout", "0.05", "--engine", engine);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ebpf: error: the test run did not finish within 0.05 seconds (set a longer limit with --timeout SECONDS, or 0 for none)\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_map_file_sets_entries_and_skips_comments()
    {
        using var folder = new Tool.TempFolder();
        string mapFile = folder.Write("maps.txt", "# a comment\n\nskb_seen 0x01000000 01:00:00:00:02000000030000000400000005000000060000000700000008000000090000000a000000\n");
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("arp"), "--maps", "--map-file", mapFile);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("map skb_seen key=01000000 value=0100000002000000030000000400000005000000060000000700000008000000090000000a000000", result.OutLines);
    }

    [Fact]
    public void The_skb_mark_reaches_the_program_and_the_context_comes_back_as_the_oracle_prints_it()
    {
        // kern_run passes a struct __sk_buff in whenever --skb-mark is given, and then prints ctx_out: so does test-run.
        var kernel = KernelOracleCase.All["tc_skb tc_skb udp4_53 --skb-mark 66"];
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("udp4_53"), "--skb-mark", "66", "--maps");
        Assert.Equal(kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.EndsWith(" ctx_out=" + kernel.ContextOut, result.OutLines[0], StringComparison.Ordinal);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    [Theory]
    [MemberData(nameof(ContextOutCases))]
    public void Ctx_out_prints_the_socket_buffer_the_kernel_gives_back(string engine, string id)
    {
        var kernel = KernelOracleCase.All[id];
        var result = Tool.Run("test-run", Object(kernel.ObjectName), kernel.Program, "--packet", Packet(kernel.Packet), "--ctx-out", "--maps", "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.NotNull(kernel.ContextOut);
        Assert.Matches("^" + kernel.Result + " duration_ns=[0-9]+ ctx_out=" + kernel.ContextOut + "$", result.OutLines[0]);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    public static TheoryData<string, string> ContextOutCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            // a tc program that writes mark, priority, cb[], queue_mapping, tc_index and tc_classid (the last three do
            // not come back), a socket filter that writes cb[], and a tc program that rewrites the packet
            foreach (var id in new[] { "ctx_fields tc_fields udp4_53 --ctx-out", "ctx_fields socket_fields udp4_53 --ctx-out", "tc_csum tc_csum_diff udp4_53 --ctx-out" })
            {
                data.Add(engine.Name, id);
            }
        }

        return data;
    }

    [Fact]
    public void Without_a_context_in_there_is_no_ctx_out_and_wire_len_reads_0_as_in_the_kernel()
    {
        var kernel = KernelOracleCase.All["ctx_fields tc_fields udp4_53"];
        var result = Tool.Run("test-run", Object("ctx_fields"), "tc_fields", "--packet", Packet("udp4_53"), "--maps");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Matches("^" + kernel.Result + " duration_ns=[0-9]+$", result.OutLines[0]);
        Assert.Contains("map fields key=16000000 value=00000000", kernel.Maps);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    [Fact]
    public void Json_has_the_context_out()
    {
        var kernel = KernelOracleCase.All["ctx_fields socket_fields udp4_53 --ctx-out"];
        var result = Tool.Run("test-run", Object("ctx_fields"), "socket_fields", "--packet", Packet("udp4_53"), "--ctx-out", "--json");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        Assert.Equal(kernel.ContextOut, json.RootElement.GetProperty("results")[0].GetProperty("ctx_out").GetString());
        var plain = Tool.Run("test-run", Object("ctx_fields"), "socket_fields", "--packet", Packet("udp4_53"), "--json");
        using var without = System.Text.Json.JsonDocument.Parse(plain.Out);
        Assert.False(without.RootElement.GetProperty("results")[0].TryGetProperty("ctx_out", out _));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_capture_with_frames_longer_than_the_xdp_buffer_runs_them_as_the_kernel(string engine)
    {
        // Frames of 4,000 and 9,000 bytes (and one of 73,153, which the kernel refuses with ENOMEM) through a program
        // that grows the last fragment by 100 bytes: the kernel's answers (xdp_frags, kernel-results.txt), frame by frame.
        using var folder = new Tool.TempFolder();
        string input = Path.Combine(folder.Path, "in.pcap"), output = Path.Combine(folder.Path, "out.pcap");
        using (var writer = new PcapWriter(File.Create(input)))
        {
            writer.Write(File.ReadAllBytes(Packet("jumbo4000")), TimeSpan.FromSeconds(1));
            writer.Write(new byte[73153], TimeSpan.FromSeconds(2));
            writer.Write(File.ReadAllBytes(Packet("jumbo9000")), TimeSpan.FromSeconds(3));
        }

        var result = Tool.Run("test-run", Object("xdp_frags"), "xdp_frag_tail", "--pcap", input, "--out", output, "--set-map", "seen", "00000000", "64000000", "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        var kernel = KernelOracleCase.All["xdp_frags xdp_frag_tail jumbo4000 --set-map seen 00000000 64000000"];
        Assert.Equal("frame=1 " + kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.StartsWith("frame=2 error=the packet has 73153 bytes, more than the 73152 an XDP test run takes", result.OutLines[1], StringComparison.Ordinal);
        // the kernel gave 9,100 bytes for jumbo9000 too: the frame and 100 zeros (kern_run, 2026-12-03)
        Assert.StartsWith("frame=3 retval=2 size_out=9100 ", result.OutLines[2], StringComparison.Ordinal);
        using var stream = File.OpenRead(output);
        var frames = PcapReader.ReadAll(stream);
        Assert.Equal([4100, 9100], frames.Select(f => f.Data.Length));
        Assert.Equal(kernel.Result[(kernel.Result.IndexOf("data_out=", StringComparison.Ordinal) + 9)..], Convert.ToHexStringLower(frames[0].Data));
        Assert.Equal(File.ReadAllBytes(Packet("jumbo9000")).Concat(new byte[100]), frames[1].Data);
    }

    /// <summary>
    /// XDP: metadata from the front of the packet, a linear part ended early (the rest in a fragment), the zeroed context
    /// of --ctx-out alone, the loopback device, and the load/store helpers across a fragment's edge.
    /// </summary>
    private static readonly string[] XdpContextIds =
    [
        "ctx_fields xdp_fields arp --ctx-in 080000002a00000000000000000000000000000000000000",
        "ctx_fields xdp_fields arp --ctx-in 000000000e00000000000000000000000000000000000000",
        "ctx_fields xdp_fields arp --ctx-out",
        "ctx_fields xdp_fields arp --ctx-in 000000002a00000000000000010000000000000000000000",
        "xdp_adjust xdp_meta udp4_53 --ctx-in 080000003800000000000000000000000000000000000000",
        "xdp_buff xdp_buff_ops jumbo9000 --ctx-out --set-map args 00000000 00000000 --set-map args 01000000 fa0f0000",
    ];

    public static TheoryData<string, string> ContextCases()
    {
        // Socket buffers: every recorded skb_ctx case that ran with a context in: each settable field read by a tc program
        // and a socket filter and written back (once, and three times over the same socket buffer); the zeroed context of
        // --ctx-out alone; a short context and one with zero bytes past the structure; fields a socket filter cannot read
        // coming back as given; cb as 8-byte words and bytes, and sk.
        var skb = KernelOracleCase.All.Where(c => c.Value.ObjectName == "skb_ctx" && c.Value.ContextIn && !c.Value.KernelRefused).Select(c => c.Key);
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var id in skb.Concat(XdpContextIds))
            {
                data.Add(engine.Name, id);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ContextCases))]
    public void Ctx_in_and_ctx_out_give_what_the_kernel_gives(string engine, string id)
    {
        var kernel = KernelOracleCase.All[id];
        string[] options = id.Split(' ')[3..];
        var result = Tool.Run(["test-run", Object(kernel.ObjectName), kernel.Program, "--packet", Packet(kernel.Packet), .. options, "--maps", "--engine", engine]);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.NotNull(kernel.ContextOut);
        Assert.Matches("^" + kernel.Result + " duration_ns=[0-9]+ ctx_out=" + kernel.ContextOut + "$", result.OutLines[0]);
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));
    }

    [Theory]
    [InlineData("ctx_fields", "xdp_fields", "arp")]
    [InlineData("skb_ctx", "socket_ctx_in", "vlan_udp4")]
    public void Ctx_in_from_a_file_is_read_as_raw_bytes_and_json_has_the_context_out(string objectName, string program, string packet)
    {
        var kernel = KernelOracleCase.All.Values.First(c => c.ObjectName == objectName && c.Program == program && c.Packet == packet && c.ContextBytes is not null);
        using var folder = new Tool.TempFolder();
        string file = Path.Combine(folder.Path, "ctx.bin");
        File.WriteAllBytes(file, kernel.ContextBytes!);
        var result = Tool.Run("test-run", Object(objectName), program, "--packet", Packet(packet), "--ctx-in", file, "--json");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        Assert.Equal(kernel.ContextOut, json.RootElement.GetProperty("results")[0].GetProperty("ctx_out").GetString());
    }

    [Theory]
    [InlineData("xdp_fields", "000000002a00000004000000000000000000000000000000", "data_meta is 4; it must be 0")]
    [InlineData("xdp_fields", "000000002b00000000000000000000000000000000000000", "data_end 43 lies past the 42 bytes given")]
    [InlineData("xdp_fields", "200000002a00000000000000000000000000000000000000", "the packet after its 32 bytes of metadata has 10 bytes")]
    [InlineData("xdp_fields", "000000002a00000000000000000000000000000001000000", "egress_ifindex is 1")]
    [InlineData("xdp_fields", "000000002a0000000000000000000000000000000000000000000001", "its byte 27 (past the 24 bytes of struct xdp_md) is not 0")]
    [InlineData("tc_ctx_in", "01", "its byte 0 (len) is not 0; a context in may set only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp; the kernel's test run refuses it (EINVAL)")]
    [InlineData("tc_ctx_in", "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003700000000000000000000000000000000000000000000000000000000000000", "wire_len 55 is neither 0 nor from the packet's length (56) to 65536; the kernel's test run refuses it (EINVAL)")]
    [InlineData("tc_ctx_in", "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000", "gso_segs 65536 is more than 65535; the kernel's test run refuses it (EINVAL)")]
    [InlineData("tc_ctx_in", "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001", "its byte 192 (past the 192 bytes of struct __sk_buff) is not 0; the kernel's test run refuses it (E2BIG)")]
    public void A_context_the_kernel_refuses_is_a_one_line_error(string program, string context, string why)
    {
        // xdp_fields on arp (42 bytes), tc_ctx_in on udp4_53 (56 bytes)
        bool xdp = program == "xdp_fields";
        var result = Tool.Run("test-run", Object(xdp ? "ctx_fields" : "skb_ctx"), program, "--packet", Packet(xdp ? "arp" : "udp4_53"), "--ctx-in", context);
        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Out);
        Assert.StartsWith($"ebpf: error: the context in (struct {(xdp ? "xdp_md" : "__sk_buff")}): " + why, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("xdp_fields", "no-such-file", "--ctx-in (neither a file nor hex bytes): 'no-such-file' is not hex bytes")]
    [InlineData("tc_fields", "0x", "--ctx-in (neither a file nor hex bytes): '0x' is not hex bytes")]
    public void A_ctx_in_that_cannot_go_in_is_a_usage_error(string program, string context, string message)
    {
        var result = Tool.Run("test-run", Object("ctx_fields"), program, "--packet", Packet("udp4_53"), "--ctx-in", context);
        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Out);
        Assert.StartsWith("ebpf: error: " + message, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Skb_mark_and_ctx_in_together_are_a_usage_error_and_skb_mark_alone_still_passes_a_context_in()
    {
        var both = Tool.Run("test-run", Object("skb_ctx"), "tc_ctx_in", "--packet", Packet("udp4_53"), "--ctx-in", "00", "--skb-mark", "7");
        Assert.Equal(2, both.ExitCode);
        Assert.Empty(both.Out);
        Assert.Equal("ebpf: error: --skb-mark and --ctx-in both give the struct __sk_buff in: put the mark into the context in (bytes 8-11, little-endian)", both.Err.TrimEnd().Split('\n')[0]);

        // --skb-mark 7 is the context in of eleven bytes with mark 7 (kernel: the mark read 7, written back as 8)
        var mark = Tool.Run("test-run", Object("skb_ctx"), "tc_ctx_in", "--packet", Packet("udp4_53"), "--skb-mark", "7");
        var context = Tool.Run("test-run", Object("skb_ctx"), "tc_ctx_in", "--packet", Packet("udp4_53"), "--ctx-in", "0000000000000000070000");
        Assert.Equal((0, 0), (mark.ExitCode, context.ExitCode));
        string CtxOut(Tool.Result r) => r.OutLines[0][(r.OutLines[0].IndexOf(" ctx_out=", StringComparison.Ordinal) + 9)..];
        Assert.Equal(CtxOut(context), CtxOut(mark));
        Assert.StartsWith("000000000000000008000000", CtxOut(mark), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_has_the_verdict_the_packet_and_the_maps()
    {
        var result = Tool.Run("test-run", Object("xdp_parse"), "xdp_parse", "--packet", Packet("tcp4_9999"), "--json", "--maps", "-e", "x64");
        Assert.Equal(0, result.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        var run = json.RootElement.GetProperty("results")[0];
        Assert.Equal("x64", json.RootElement.GetProperty("engine").GetString());
        Assert.Equal(1, run.GetProperty("retval").GetInt32());
        Assert.Equal(68, run.GetProperty("size_out").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(File.ReadAllBytes(Packet("tcp4_9999"))), run.GetProperty("data_out").GetString());
        Assert.Equal(9, json.RootElement.GetProperty("maps").GetArrayLength());
    }

    [Fact]
    public void Json_names_the_redirect_target()
    {
        // bpf_redirect(7, 0) from a tc program: TC_ACT_REDIRECT (7), target recorded.
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_redirect", "--packet", Packet("udp4_53"), "--json");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        var run = json.RootElement.GetProperty("results")[0];
        Assert.Equal(7, run.GetProperty("retval").GetInt32());
        Assert.Equal(7, run.GetProperty("redirect").GetProperty("target").GetInt32());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_capture_gets_a_verdict_per_frame_and_the_output_frames(string engine)
    {
        using var folder = new Tool.TempFolder();
        string[] names = ["icmp4_echo", "runt", "udp4_53", "vlan_icmp4_echo"];
        string input = Path.Combine(folder.Path, "in.pcap"), output = Path.Combine(folder.Path, "out.pcap");
        using (var writer = new PcapWriter(File.Create(input)))
        {
            for (int i = 0; i < names.Length; i++)
            {
                writer.Write(File.ReadAllBytes(Packet(names[i])), TimeSpan.FromSeconds(1000 + i));
            }
        }

        var result = Tool.Run("test-run", Object("xdp_icmp_echo"), "icmp_echo", "--pcap", input, "--out", output, "-e", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(4, result.OutLines.Length);
        Assert.Equal("frame=1 " + KernelOracleCase.All["xdp_icmp_echo icmp_echo icmp4_echo"].Result, WithoutDuration(result.OutLines[0]));
        Assert.StartsWith("frame=2 error=the packet has 10 bytes", result.OutLines[1], StringComparison.Ordinal);
        Assert.Equal("frame=3 " + KernelOracleCase.All["xdp_icmp_echo icmp_echo udp4_53"].Result, WithoutDuration(result.OutLines[2]));
        Assert.Equal("frame=4 " + KernelOracleCase.All["xdp_icmp_echo icmp_echo vlan_icmp4_echo"].Result, WithoutDuration(result.OutLines[3]));
        var frames = PcapReader.ReadAll(output);
        Assert.Equal(3, frames.Count);
        Assert.Equal(KernelOracleCase.All["xdp_icmp_echo icmp_echo icmp4_echo"].Result.Split("data_out=")[1], Convert.ToHexStringLower(frames[0].Data));
        Assert.Equal(TimeSpan.FromSeconds(1002), frames[1].Timestamp);
    }

    [Theory]
    [InlineData("runt", "error: the packet has 10 bytes, fewer than an Ethernet header (14)")]
    [InlineData("truncated_ip4", "error: the packet's EtherType 0x0800 announces an IPv4 header, but only 12 bytes follow")]
    public void A_packet_the_kernel_refuses_is_a_one_line_error(string packet, string message)
    {
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet(packet));
        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Out);
        Assert.StartsWith("ebpf: " + message, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData(new[] { "--set-map", "nope", "00", "00" }, "set-map: no map named 'nope'")]
    [InlineData(new[] { "--set-map", "skb_seen", "0100", "00" }, "set-map skb_seen: key is 2 bytes and value 1, the map wants 4 and 40")]
    [InlineData(new[] { "--set-map", "skb_seen", "xyz", "00" }, "the key 'xyz' is not an even number of hex digits")]
    [InlineData(new[] { "--type", "kprobe" }, "unknown program type 'kprobe' (xdp, tc, socket)")]
    [InlineData(new[] { "--type", "xdp" }, "calls bpf_skb_store_bytes (helper 9), bpf_l3_csum_replace (helper 10)")]
    public void Bad_arguments_are_one_line_errors(string[] extra, string message)
    {
        var result = Tool.Run(["test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("udp4_53"), .. extra]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void The_cpu_chooses_the_per_cpu_value_and_must_exist()
    {
        var result = Tool.Run("test-run", Object("xdp_stats"), "xdp_stats", "--packet", Packet("udp4_53"), "--cpu", "1", "--maps");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("map per_class key=01000000 cpu=1 value=01000000000000003800000000000000", result.OutLines);
        Assert.Contains("map per_class key=01000000 cpu=0 value=00000000000000000000000000000000", result.OutLines);
        var error = Tool.Run("test-run", Object("xdp_stats"), "xdp_stats", "--packet", Packet("udp4_53"), "--cpu", "100000");
        Assert.Equal(2, error.ExitCode);
        Assert.StartsWith("ebpf: error: --cpu 100000: the run's CPU", error.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_packet_or_a_capture_is_needed_but_not_both()
    {
        Assert.Equal(2, Tool.Run("test-run", Object("tc_skb"), "tc_skb").ExitCode);
        Assert.Equal(2, Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("arp"), "--pcap", Packet("arp")).ExitCode);
        Assert.Equal(2, Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--packet", Packet("arp"), "--out", "x.pcap").ExitCode);
    }

    [Fact]
    public void A_file_that_is_not_a_capture_is_a_one_line_error()
    {
        var result = Tool.Run("test-run", Object("tc_skb"), "tc_skb", "--pcap", Packet("udp4_53"));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ebpf: error: not a pcap file", result.Err, StringComparison.Ordinal);
    }
    /// <summary>
    /// skb-&gt;sk in test-run: the socket's fields as the kernel's test run gave them (family and addresses from the IPv6
    /// packet), the line and maps as kern_run printed them; a device the run lacks is a one-line error (the kernel's
    /// ENODEV), and --device adds one.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_socket_a_test_run_gives_reads_as_the_kernels_and_devices_come_from_device(string engine)
    {
        var kernel = KernelOracleCase.All["skb_sock tc_sock udp6_53"];
        var result = Tool.Run("test-run", Object("skb_sock"), "tc_sock", "--packet", Packet("udp6_53"), "--maps", "--engine", engine);
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(kernel.Result, WithoutDuration(result.OutLines[0]));
        Assert.Equal(kernel.Maps, result.OutLines.Skip(1));

        string ifindex2 = new string('0', 80) + "02" + new string('0', 302);
        var refused = Tool.Run("test-run", Object("skb_sock"), "socket_sock", "--packet", Packet("udp4_53"), "--ctx-in", ifindex2, "--engine", engine);
        Assert.Equal(1, refused.ExitCode);
        Assert.Empty(refused.Out);
        Assert.Equal("ebpf: error: the context in (struct __sk_buff): ifindex 2 names no device of the run (its devices: 1; TestRunOptions.Devices, ebpf test-run --device); the kernel's test run refuses it (ENODEV)", refused.Err.TrimEnd());

        var taken = Tool.Run("test-run", Object("skb_sock"), "socket_sock", "--packet", Packet("udp4_53"), "--ctx-in", ifindex2, "--device", "2", "--engine", engine);
        Assert.Equal((0, ""), (taken.ExitCode, taken.Err));
        Assert.Contains(" ctx_out=" + ifindex2[..88], taken.OutLines[0], StringComparison.Ordinal);
    }
}
