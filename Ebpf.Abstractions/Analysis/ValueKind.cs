namespace Ebpf.Analysis;

/// <summary>The type of an abstract value (a register or a spilled stack slot) in the safety analysis.</summary>
public enum ValueKind : byte
{
    /// <summary>Never written (reading it is an error).</summary>
    Uninitialized,
    /// <summary>A number (not usable as a pointer in a proof).</summary>
    Scalar,
    /// <summary>Initialised, but the analysis does not know whether it is a number or a pointer, nor where it points.</summary>
    Unknown,
    /// <summary>A pointer into the input memory (r1 at entry), with an offset from its start.</summary>
    Input,
    /// <summary>A pointer into a stack frame, with an offset from the frame pointer (r10 of that frame).</summary>
    Stack,
    /// <summary>A pointer into a map value, with an offset from the value's start.</summary>
    MapValue,
    /// <summary>What <c>bpf_map_lookup_elem</c> returns: a map value pointer or null, until a comparison with 0 tells.</summary>
    MapValueOrNull,
    /// <summary>A map handle (<c>lddw</c> map pseudo source): passed to helpers, never dereferenced.</summary>
    MapPointer,
    /// <summary>A pointer into global data (.data/.rodata/.bss: an <c>lddw</c> map value pseudo source), read-only where it is.</summary>
    Global,
    /// <summary>A pointer to the program context (r1 at entry when the <see cref="SafetyContext"/> has a <see cref="ContextLayout"/>), with an offset from its start.</summary>
    Context,
    /// <summary>The packet-end pointer (a <see cref="ContextFieldKind.PacketEnd"/> field): one past the input's last byte; compared with packet pointers, never dereferenced. Its offset is the input length.</summary>
    PacketEnd,
    /// <summary>A pointer into the packet metadata area (a <see cref="ContextFieldKind.PacketMeta"/> field), with an offset from the area's start; the area ends where the packet starts.</summary>
    PacketMeta,
    /// <summary>A function of the program (an <c>lddw</c> with the code-address source, <c>src=4</c>), passed to helpers that call it back; its number is the function's first slot. Never dereferenced.</summary>
    Function,
    /// <summary>
    /// A pointer to a socket's common fields (the kernel's <c>sock_common</c>: what a <see cref="ContextFieldKind.Socket"/>
    /// field gives once compared with 0): loads of the fields <see cref="ContextLayout.Socket"/> allows, at offset 0 (no
    /// arithmetic), never stores.
    /// </summary>
    Socket,
    /// <summary>What a <see cref="ContextFieldKind.Socket"/> field gives (the kernel's <c>sock_common_or_null</c>): a <see cref="Socket"/> or null, until a comparison with 0 tells.</summary>
    SocketOrNull,
    /// <summary>A pointer to a full socket (the kernel's <c>sock</c>, from <c>bpf_sk_fullsock</c>): loads of the fields <see cref="ContextLayout.FullSocket"/> allows.</summary>
    FullSocket,
    /// <summary>What <see cref="Helpers.HelperReturnKind.FullSocketOrNull"/> helpers return (the kernel's <c>sock_or_null</c>): a <see cref="FullSocket"/> or null.</summary>
    FullSocketOrNull,
    /// <summary>A pointer to a TCP socket (the kernel's <c>tcp_sock</c>, from <c>bpf_tcp_sock</c>): loads of the fields <see cref="ContextLayout.TcpSocket"/> allows.</summary>
    TcpSocket,
    /// <summary>What <see cref="Helpers.HelperReturnKind.TcpSocketOrNull"/> helpers return (the kernel's <c>tcp_sock_or_null</c>): a <see cref="TcpSocket"/> or null.</summary>
    TcpSocketOrNull,
}
