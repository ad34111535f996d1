using System.Buffers.Binary;

namespace Ebpf.Kernel;

/// <summary>
/// The <c>struct __sk_buff</c> a socket-buffer test run (tc, socket filter) is given in, the kernel's <c>ctx_in</c>,
/// with the rules Linux 6.18's <c>bpf_prog_test_run_skb</c> applies to it (<c>bpf_ctx_init</c> and
/// <c>convert___skb_to_skb</c>; each checked on that kernel through BPF_PROG_TEST_RUN and recorded in the tests' kernel
/// results): only the fields <see cref="Settable"/> lists may be non-zero.
/// </summary>
internal sealed class SkBuffIn
{
    /// <summary>The size of <c>struct __sk_buff</c>.</summary>
    public const int Size = NativeContext.SkBuffUapiSize;

    /// <summary>The C structure's name, for refusals.</summary>
    private const string Name = "struct __sk_buff";

    /// <summary>The largest <c>wire_len</c> a context in may give (<c>GSO_LEGACY_MAX_SIZE</c>).</summary>
    public const uint MaxWireLength = 65536;

    /// <summary>The largest <c>gso_segs</c> a context in may give (<c>GSO_MAX_SEGS</c>).</summary>
    public const uint MaxGsoSegments = 65535;

    /// <summary>
    /// The fields a context in may set, as offset, length and name; every other byte must be 0 (EINVAL). They are also
    /// the fields of the <c>ctx_out</c> (see <see cref="Out"/>): Linux 6.18's <c>convert_skb_to___skb</c> copies all but
    /// gso_size from the socket buffer into the structure given in, whose other bytes are 0.
    /// </summary>
    private static readonly (int Offset, int Length, string Name)[] Settable =
    [
        (SkBuffFields.Mark, 4, "mark"),
        (SkBuffFields.Priority, 4, "priority"),
        (SkBuffFields.IngressIfindex, 4, "ingress_ifindex"),
        (SkBuffFields.Ifindex, 4, "ifindex"),
        (SkBuffFields.Cb, 20, "cb"),
        (SkBuffFields.Tstamp, 8, "tstamp"),
        (SkBuffFields.WireLen, 4, "wire_len"),
        (SkBuffFields.GsoSegs, 4, "gso_segs"),
        (SkBuffFields.GsoSize, 4, "gso_size"),
        (SkBuffFields.Hwtstamp, 8, "hwtstamp"),
    ];

    private readonly byte[] fields;

    private SkBuffIn(byte[] fields) => this.fields = fields;

    /// <summary>The fields as the options without a raw context give them (mark, priority, ingress_ifindex, ifindex; the rest 0).</summary>
    public static SkBuffIn FromOptions(TestRunOptions options)
    {
        var fields = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(fields.AsSpan(SkBuffFields.Mark), options.SkbMark);
        BinaryPrimitives.WriteUInt32LittleEndian(fields.AsSpan(SkBuffFields.Priority), options.SkbPriority);
        BinaryPrimitives.WriteUInt32LittleEndian(fields.AsSpan(SkBuffFields.IngressIfindex), options.SkbIngressIfindex);
        BinaryPrimitives.WriteUInt32LittleEndian(fields.AsSpan(SkBuffFields.Ifindex), options.Ifindex);
        return new SkBuffIn(fields);
    }

    /// <summary>
    /// Reads and checks the context given in for a socket buffer whose length (the <c>len</c> the program sees, from
    /// where its packet starts) is <paramref name="length"/>: shorter than the structure is filled with zeros; longer
    /// must end in zero bytes and have at most <see cref="ContextIn.MaxBytes"/> (E2BIG); only the <see cref="Settable"/> fields may
    /// be non-zero, <c>wire_len</c> must be 0 (the packet's length then) or from <paramref name="length"/> to
    /// <see cref="MaxWireLength"/>, <c>gso_segs</c> at most <see cref="MaxGsoSegments"/> (EINVAL).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The kernel's test run would refuse the context.</exception>
    public static SkBuffIn Parse(ReadOnlySpan<byte> given, int length)
    {
        var fields = new byte[Size];
        ContextIn.Copy(given, fields, Name);
        for (int at = 0; at < Size; at++)
        {
            if (fields[at] != 0 && !Array.Exists(Settable, f => at >= f.Offset && at < f.Offset + f.Length))
            {
                throw Refused(
                    $"its byte {at} ({FieldName(at)}) is not 0; a context in may set only {string.Join(", ", Settable.Select(f => f.Name))}",
                    "EINVAL");
            }
        }

        uint wireLength = BinaryPrimitives.ReadUInt32LittleEndian(fields.AsSpan(SkBuffFields.WireLen));
        if (wireLength != 0 && (wireLength < (uint)length || wireLength > MaxWireLength))
        {
            throw Refused($"wire_len {wireLength} is neither 0 nor from the packet's length ({length}) to {MaxWireLength}", "EINVAL");
        }

        uint segments = BinaryPrimitives.ReadUInt32LittleEndian(fields.AsSpan(SkBuffFields.GsoSegs));
        if (segments > MaxGsoSegments)
        {
            throw Refused($"gso_segs {segments} is more than {MaxGsoSegments}", "EINVAL");
        }

        return new SkBuffIn(fields);
    }

    /// <summary>The device the packet is on: the given <c>ifindex</c>, 0 meaning the loopback device (1), as the kernel's test run takes it.</summary>
    public uint Ifindex => BinaryPrimitives.ReadUInt32LittleEndian(fields.AsSpan(SkBuffFields.Ifindex)) is var index and not 0 ? index : 1;

    /// <summary>
    /// Refuses a context whose device (<see cref="Ifindex"/>) is not one of <paramref name="devices"/>, as the kernel's test
    /// run refuses an index its network namespace has no device for (<c>dev_get_by_index</c>: ENODEV).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The device is not in the list.</exception>
    public void CheckDevice(IReadOnlyList<uint>? devices) => ContextIn.CheckDevice(Name, "ifindex", Ifindex, devices);

    /// <summary>
    /// Writes the fields into the run's <paramref name="context"/>: each settable one as given, but <c>ifindex</c> 0 as
    /// the loopback device (1), <c>wire_len</c> 0 as <paramref name="length"/>, and <c>gso_size</c> cut to its low 16
    /// bits, as the kernel's test run sets them (the socket buffer keeps gso_size in 16 bits: checked on Linux 6.18, a
    /// program given 0xffffffff read 0xffff).
    /// </summary>
    public void WriteTo(Span<byte> context, int length)
    {
        foreach (var (offset, size, _) in Settable)
        {
            fields.AsSpan(offset, size).CopyTo(context[offset..]);
        }

        context.Slice(SkBuffFields.GsoSize + 2, 2).Clear();

        if (BinaryPrimitives.ReadUInt32LittleEndian(context[SkBuffFields.Ifindex..]) == 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(context[SkBuffFields.Ifindex..], 1);
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(context[SkBuffFields.WireLen..]) == 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(context[SkBuffFields.WireLen..], (uint)length);
        }
    }

    /// <summary>
    /// The <c>ctx_out</c> the kernel's test run gives back for a socket buffer whose context after the run is
    /// <paramref name="context"/>: its <see cref="Settable"/> fields, but gso_size as it went in (the kernel does not copy
    /// it back; checked on Linux 6.18: 0xffffffff went in and came back), zeros elsewhere.
    /// </summary>
    public byte[] Out(ReadOnlySpan<byte> context)
    {
        var output = new byte[Size];
        foreach (var (offset, length, _) in Settable)
        {
            context.Slice(offset, length).CopyTo(output.AsSpan(offset));
        }

        fields.AsSpan(SkBuffFields.GsoSize, 4).CopyTo(output.AsSpan(SkBuffFields.GsoSize));
        return output;
    }

    /// <summary>The <c>__sk_buff</c> field byte <paramref name="at"/> belongs to, for the refusal's message.</summary>
    private static string FieldName(int at) =>
        KernelContextLayouts.SkBuff.Fields.FirstOrDefault(f => at >= f.Offset && at < f.Offset + f.Size) is { } field ? field.Name
        : at is >= 88 and < 140 ? "the socket fields family .. local_port"
        : at is >= 144 and < 152 ? "flow_keys"
        : "padding";

    private static EbpfTestRunException Refused(string why, string errno) => ContextIn.Refused(Name, why, errno);
}
