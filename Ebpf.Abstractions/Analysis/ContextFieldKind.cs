namespace Ebpf.Analysis;

/// <summary>What a field of a program context (<see cref="ContextLayout"/>) holds, as the safety analysis types its loads.</summary>
public enum ContextFieldKind : byte
{
    /// <summary>A number (e.g. an interface index or a mark): a load gives a scalar of the field's width.</summary>
    Scalar,
    /// <summary>The address of the first packet byte (<c>data</c>): a load gives a packet pointer with no proven range.</summary>
    PacketStart,
    /// <summary>The address just past the last packet byte (<c>data_end</c>): a load gives the packet-end pointer, which is compared, never dereferenced.</summary>
    PacketEnd,
    /// <summary>The address of the packet metadata area just before the packet (<c>data_meta</c>): a load gives a meta pointer, whose range a comparison with a packet pointer proves.</summary>
    PacketMeta,
    /// <summary>
    /// A pointer to a socket, or null (<c>__sk_buff.sk</c>): a load gives a <see cref="ValueKind.SocketOrNull"/> whose
    /// fields, once it is compared with 0, are <see cref="ContextLayout.Socket"/>'s. An 8-byte load only.
    /// </summary>
    Socket,
}
