namespace Ebpf.Kernel;

/// <summary>
/// The context structures programs get at run time: the uapi structure (<c>struct xdp_md</c>, <c>struct __sk_buff</c>)
/// at its own offsets for the numeric fields, followed by the three packet pointers as 64-bit values. Loads of the
/// 32-bit uapi pointer fields are rewritten to 64-bit loads of these (see <see cref="ContextRewriter"/>), as the kernel
/// rewrites them to loads of its own structures. Socket buffers have a fourth pointer, to the run's socket
/// (<c>__sk_buff.sk</c>, a <see cref="SocketSize"/>-byte <c>struct bpf_sock</c> that follows the pointers).
/// </summary>
internal static class NativeContext
{
    /// <summary>Size of <c>struct xdp_md</c>.</summary>
    public const int XdpUapiSize = 24;

    /// <summary>Size of <c>struct __sk_buff</c>.</summary>
    public const int SkBuffUapiSize = 192;

    /// <summary>Size of <c>struct bpf_sock</c>, the socket a socket buffer's <c>sk</c> points at.</summary>
    public const int SocketSize = 80;

    /// <summary>The packet pointers: data, data_end, data_meta (in this order, 8 bytes each), after the uapi part; then, for socket buffers, sk.</summary>
    public static int PointersOffset(KernelProgramType type) => type == KernelProgramType.Xdp ? XdpUapiSize : SkBuffUapiSize;

    /// <summary>The whole native context's size (the uapi part and the pointers).</summary>
    public static int Size(KernelProgramType type) => PointersOffset(type) + (type == KernelProgramType.Xdp ? 24 : 32);

    /// <summary>The native offset of the 64-bit pointer the uapi field <paramref name="field"/> (<c>data</c>, <c>data_end</c>, <c>data_meta</c>; socket buffers: <c>sk</c>) maps to.</summary>
    public static int PointerOffset(KernelProgramType type, string field) => PointersOffset(type) + field switch
    {
        "data" => 0,
        "data_end" => 8,
        "data_meta" => 16,
        "sk" when type != KernelProgramType.Xdp => 24,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a packet pointer field"),
    };
}
