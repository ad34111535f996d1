namespace Ebpf.Analysis;

/// <summary>Where inside a field a narrow load (see <see cref="ContextField.NarrowLoads"/>) may read.</summary>
public enum NarrowLoadPlacement : byte
{
    /// <summary>Any part aligned to its size (most <c>__sk_buff</c> fields, the addresses of <c>struct bpf_sock</c>).</summary>
    Anywhere,

    /// <summary>Only parts that start where the field starts (<c>struct bpf_sock</c>'s family, type, protocol, src_port, state, rx_queue_mapping).</summary>
    AtStart,

    /// <summary>Only aligned parts inside the field's first half (<c>struct bpf_sock.dst_port</c>: a 16-bit port read as 32 bits or in parts of its own 2 bytes).</summary>
    FirstHalf,
}
