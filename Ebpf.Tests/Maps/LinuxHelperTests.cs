using System.Buffers.Binary;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Elf;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>The Linux helpers other than map access and tail calls: checksums, tracing, time, randomness, cpu id.</summary>
public class LinuxHelperTests
{
    private static ProgramEnvironment Environment(LinuxHelperOptions? options = null) =>
        LinuxHelpers.Register(new ProgramEnvironment(), options);

    /// <summary>Stores <paramref name="bytes"/> (padded to 8) at r10 + <paramref name="offset"/> with lddw r9 / stxdw.</summary>
    private static Instruction[] StoreBytes(short offset, byte[] bytes)
    {
        var padded = new byte[(bytes.Length + 7) / 8 * 8];
        bytes.CopyTo(padded, 0);
        var slots = new List<Instruction>();
        for (int i = 0; i < padded.Length; i += 8)
        {
            slots.AddRange(Lddw(9, BinaryPrimitives.ReadUInt64LittleEndian(padded.AsSpan(i))));
            slots.Add(I(OpCodes.StxDW, 10, 9, (short)(offset + i)));
        }

        return [.. slots];
    }

    /// <summary>The RFC 1071 checksum of <paramref name="data"/> (0 when a header with its checksum is valid).</summary>
    private static ushort Rfc1071(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8 | data[i + 1]);
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Csum_diff_sums_the_complement_of_from_and_to_folded_to_16_bits(string engine)
    {
        // from = 01 02 03 04 (word 0x04030201), to = 05 06 07 08 (0x08070605): csum_sub(0x08070605, 0x04030201) =
        // 0x08070605 + 0xfbfcfdfe = 0x1_04040403 -> end-around carry 0x04040404; Linux 6.18 folds it: 0x0404 + 0x0404.
        var program = Program(
            I(OpCodes.StW, 10, 0, -8, 0x04030201),
            I(OpCodes.StW, 10, 0, -16, 0x08070605),
            I(OpCodes.Mov64Reg, 1, 10),
            I(OpCodes.Add64Imm, 1, 0, 0, -8),
            I(OpCodes.Mov64Imm, 2, 0, 0, 4),
            I(OpCodes.Mov64Reg, 3, 10),
            I(OpCodes.Add64Imm, 3, 0, 0, -16),
            I(OpCodes.Mov64Imm, 4, 0, 0, 4),
            I(OpCodes.Mov64Imm, 5, 0, 0, 0),
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.CsumDiff),
            I(OpCodes.Exit));
        Assert.Equal(0x0808UL, Run(engine, program, environment: Environment()));

        // A size that is not a multiple of 4 is summed (older kernels answered -EINVAL; 6.18 does not): 3 bytes
        // 01 02 03 (0x030201) from the seed 0: ~csum_partial(from, ~0) = ~0x00030201 = 0xfffcfdfe -> 0xfdfe + 0xfffc.
        var oddSize = Program(
            I(OpCodes.StW, 10, 0, -8, 0x04030201),
            I(OpCodes.Mov64Reg, 1, 10),
            I(OpCodes.Add64Imm, 1, 0, 0, -8),
            I(OpCodes.Mov64Imm, 2, 0, 0, 3),
            I(OpCodes.Mov64Imm, 3, 0, 0, 0),
            I(OpCodes.Mov64Imm, 4, 0, 0, 0),
            I(OpCodes.Mov64Imm, 5, 0, 0, 0),
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.CsumDiff),
            I(OpCodes.Exit));
        Assert.Equal(0xfdfbUL, Run(engine, oddSize, environment: Environment(), options: StructuralOnly));
    }

    [Fact]
    public void Csum_diff_matches_what_the_kernel_answered()
    {
        // The sums of examples/kernel/tc_csum.c on the udp4_53 frame as Linux 6.18 gave them (kernel-results.txt).
        byte[] ip = Convert.FromHexString("4500002a123440001111438d0a0000010a000002");
        byte[] odd = [1, 2, 3, 4, 5, 6, 7, 8];
        byte[] oldDestination = ip[16..20], newDestination = [10, 0, 0, 0x63];
        Assert.Equal(0xffff, InternetChecksum.Diff([], ip, 0));
        Assert.Equal(0xffff, InternetChecksum.Diff(ip, [], 0));
        Assert.Equal(0x6100, InternetChecksum.Diff(oldDestination, newDestination, 0));
        Assert.Equal(0x7334, InternetChecksum.Diff(oldDestination, newDestination, 0xffff1234));
        Assert.Equal(0x68ac, InternetChecksum.Diff([], [], 0x12345678));
        Assert.Equal(0x0807, InternetChecksum.Diff(odd.AsSpan(0, 6), odd, 0));
        Assert.Equal(0xb57f, InternetChecksum.Diff(ip.AsSpan(0, 8), odd, 7));

        // 0xffffffff (ones' complement -0) + 2 = 0x1_00000001 -> 0x00000001 + carry = 2.
        Assert.Equal(0x0002, InternetChecksum.Diff([], [0xff, 0xff, 0xff, 0xff], 2));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void L3_csum_replace_keeps_the_ip_header_checksum_valid(string engine)
    {
        var packet = ExampleFiles.Packet("tcp_80");
        Assert.Equal(0, Rfc1071(packet.AsSpan(14, 20)));

        // Rewrite the destination address (offset 30) to 10.0.0.3, then fix the checksum at offset 24 (4-byte field).
        var program = Program(
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.LdxW, 3, 6, 30),
            I(OpCodes.Mov64Imm, 4, 0, 0, 0x0300000a),
            I(OpCodes.StxW, 6, 4, 30),
            I(OpCodes.Mov64Reg, 1, 6),
            I(OpCodes.Mov64Imm, 2, 0, 0, 24),
            I(OpCodes.Mov64Imm, 5, 0, 0, 4),
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.L3CsumReplace),
            I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, program, packet, Environment()));
        Assert.Equal(new byte[] { 10, 0, 0, 3 }, packet[30..34]);
        Assert.Equal(0, Rfc1071(packet.AsSpan(14, 20)));

        // Then the TTL/protocol word (offset 22) with a 2-byte update: TTL 64 -> 63.
        var ttl = Program(
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.LdxH, 3, 6, 22),
            I(OpCodes.Mov64Reg, 4, 3),
            I(OpCodes.Sub64Imm, 4, 0, 0, 1),
            I(OpCodes.StxH, 6, 4, 22),
            I(OpCodes.Mov64Reg, 1, 6),
            I(OpCodes.Mov64Imm, 2, 0, 0, 24),
            I(OpCodes.Mov64Imm, 5, 0, 0, 2),
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.L3CsumReplace),
            I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, ttl, packet, Environment()));
        Assert.Equal(63, packet[22]);
        Assert.Equal(0, Rfc1071(packet.AsSpan(14, 20)));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Checksum_replace_rejects_bad_offsets_and_flags(string engine)
    {
        EbpfProgram Replace(uint helper, int offset, int flags) => Program(
            I(OpCodes.Mov64Imm, 2, 0, 0, offset),
            I(OpCodes.Mov64Imm, 3, 0, 0, 0),
            I(OpCodes.Mov64Imm, 4, 0, 0, 1),
            I(OpCodes.Mov64Imm, 5, 0, 0, flags),
            I(OpCodes.Call, 0, 0, 0, (int)helper),
            I(OpCodes.Exit));
        var packet = ExampleFiles.Packet("udp_53");
        Assert.Equal(unchecked((ulong)-14L), Run(engine, Replace(LinuxHelperIds.L3CsumReplace, 45, 2), packet, Environment()));
        Assert.Equal(unchecked((ulong)-22L), Run(engine, Replace(LinuxHelperIds.L3CsumReplace, 24, 3), packet, Environment()));
        Assert.Equal(unchecked((ulong)-22L), Run(engine, Replace(LinuxHelperIds.L4CsumReplace, 40, 0x102), packet, Environment()));

        // The UDP checksum (offset 40) is 0, "no checksum": with BPF_F_MARK_MANGLED_0 it stays 0.
        Assert.Equal(0UL, Run(engine, Replace(LinuxHelperIds.L4CsumReplace, 40, 0x22), packet, Environment()));
        Assert.Equal(new byte[] { 0, 0 }, packet[40..42]);
    }

    [Fact]
    public void Checksum_replace_by_diff_and_mangled_zero()
    {
        // A checksum of 0xffff (stored) with a field going from 0 to 0: unchanged arithmetic, folded.
        Assert.Equal((ushort)0xfffe, InternetChecksum.Replace(0xfffe, 0, 0, 4, sixteenBit: false));
        // Adding the partial sum 1 to a checksum whose complement is 0x0001 gives complement 0x0002.
        Assert.Equal((ushort)0xfffd, InternetChecksum.Replace(0xfffe, 0, 1, 0, sixteenBit: false));
        Assert.Equal((ushort)0xfffd, InternetChecksum.Replace(0xfffe, 0, 1, 2, sixteenBit: true));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Trace_printk_formats_to_the_writer(string engine)
    {
        var output = new StringWriter();
        var program = Program(
            StoreBytes(-32, "hi %s, %d=%x\n\0"u8.ToArray()),
            StoreBytes(-40, "bob\0"u8.ToArray()),
            I(OpCodes.Mov64Reg, 1, 10),
            I(OpCodes.Add64Imm, 1, 0, 0, -32),
            I(OpCodes.Mov64Imm, 2, 0, 0, 16),
            I(OpCodes.Mov64Reg, 3, 10),
            I(OpCodes.Add64Imm, 3, 0, 0, -40),
            I(OpCodes.Mov64Imm, 4, 0, 0, -5),
            I(OpCodes.Mov64Imm, 5, 0, 0, 255),
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.TracePrintk),
            I(OpCodes.Exit));
        Assert.Equal((ulong)"hi bob, -5=ff\n".Length, Run(engine, program, environment: Environment(new LinuxHelperOptions { TraceOutput = output })));
        Assert.Equal("hi bob, -5=ff\n", output.ToString());
    }

    [Theory]
    [InlineData("plain", 0UL, 0UL, 0UL, "plain")]
    [InlineData("%d %i %u", 0xffff_ffffUL, 7UL, 0xffff_ffffUL, "-1 7 4294967295")]
    [InlineData("%ld %llu %lx", 0xffff_ffff_ffff_fffeUL, 0xffff_ffff_ffff_ffffUL, 0x1_0000_0000UL, "-2 18446744073709551615 100000000")]
    [InlineData("[%5d][%-5d][%05d]", 42UL, 42UL, 0xffff_ffd6UL, "[   42][42   ][-0042]")]
    [InlineData("%x %X %#x", 0xabUL, 0xabUL, 0xabUL, "ab AB 0xab")]
    [InlineData("%hd %hhu %c", 0xffffUL, 0x1ffUL, 0x41UL, "-1 255 A")]
    [InlineData("100%% %p", 0x1234UL, 0UL, 0UL, "100% 0x1234")]
    [InlineData("%+d % d %o", 5UL, 5UL, 8UL, "+5  5 10")]
    public void Trace_printk_conversions(string format, ulong a, ulong b, ulong c, string expected)
    {
        Assert.Equal(expected, TracePrintkFormatter.Format(System.Text.Encoding.ASCII.GetBytes(format), [a, b, c], _ => "?"));
    }

    [Theory]
    [InlineData("%d %d %d %d")]
    [InlineData("%q")]
    [InlineData("trailing %")]
    [InlineData("%l")]
    public void Trace_printk_rejects_invalid_formats(string format)
    {
        Assert.Null(TracePrintkFormatter.Format(System.Text.Encoding.ASCII.GetBytes(format), [1, 2, 3], _ => "?"));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Time_processor_id_and_random_come_from_the_options(string engine)
    {
        var options = new LinuxHelperOptions { Clock = () => 123_456_789, ProcessorId = 3, RandomSeed = 42 };
        EbpfProgram Call(uint id) => Program(I(OpCodes.Call, 0, 0, 0, (int)id), I(OpCodes.Exit));
        Assert.Equal(123_456_789UL, Run(engine, Call(LinuxHelperIds.KtimeGetNs), environment: Environment(options)));
        Assert.Equal(3UL, Run(engine, Call(LinuxHelperIds.GetSmpProcessorId), environment: Environment(options)));

        var first = Environment(options);
        var second = Environment(options);
        var sequence1 = Enumerable.Range(0, 4).Select(_ => Run(engine, Call(LinuxHelperIds.GetPrandomU32), environment: first)).ToArray();
        var sequence2 = Enumerable.Range(0, 4).Select(_ => Run(engine, Call(LinuxHelperIds.GetPrandomU32), environment: second)).ToArray();
        Assert.Equal(sequence1, sequence2);
        Assert.All(sequence1, v => Assert.True(v <= uint.MaxValue));
        Assert.True(sequence1.Distinct().Count() > 1);
    }

    [Fact]
    public void The_monotonic_clock_does_not_go_back()
    {
        var environment = Environment();
        var program = Program(I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.KtimeGetNs), I(OpCodes.Exit));
        using var compiled = TestEngines.All[0].Compile(program, environment);
        ulong a = compiled.Run();
        ulong b = compiled.Run();
        Assert.True(b >= a);
        Assert.True(a > 0);
    }

    [Fact]
    public void Every_helper_is_registered_with_its_linux_id_and_name()
    {
        var table = LinuxHelpers.Register(new HelperTable());
        Assert.Equal(LinuxHelperIds.ByName.Count, table.Count);
        foreach (var (name, id) in LinuxHelperIds.ByName)
        {
            Assert.True(table.TryGet(id, out var helper));
            Assert.Equal(name, helper.Name);
        }

        Assert.Equal(
            new uint[] { 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 28, 87, 88, 89, 93, 94, 130, 131, 132, 133, 134, 164, 181 },
            table.Select(h => h.Id).ToArray());
    }
}
