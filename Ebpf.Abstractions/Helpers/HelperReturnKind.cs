namespace Ebpf.Helpers;

/// <summary>What a helper returns in r0, for the safety analysis.</summary>
public enum HelperReturnKind : byte
{
    /// <summary>A number.</summary>
    Scalar,
    /// <summary>A pointer to a value of the map passed as the first <see cref="HelperArgumentKind.MapPointer"/> argument, or null.</summary>
    MapValueOrNull,

    /// <summary>
    /// A ring-buffer record of the size the second argument gives (a constant), or null: <c>bpf_ringbuf_reserve</c>.
    /// The program owns the record until it passes it to a <see cref="HelperArgumentKind.RingBufferRecord"/> argument
    /// (submit or discard); strict mode, as the kernel's verifier, rejects a path that ends while it owns one.
    /// </summary>
    RingBufferRecordOrNull,

    /// <summary>
    /// A pointer to a full socket (<see cref="Analysis.ValueKind.FullSocketOrNull"/>: its fields are the context
    /// layout's <see cref="Analysis.ContextLayout.FullSocket"/>), or null: <c>bpf_sk_fullsock</c>, <c>bpf_get_listener_sock</c>.
    /// </summary>
    FullSocketOrNull,

    /// <summary>
    /// A pointer to a TCP socket (<see cref="Analysis.ValueKind.TcpSocketOrNull"/>: its fields are the context layout's
    /// <see cref="Analysis.ContextLayout.TcpSocket"/>), or null: <c>bpf_tcp_sock</c>.
    /// </summary>
    TcpSocketOrNull,
}
