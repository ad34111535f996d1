namespace Ebpf.Kernel;

/// <summary>
/// The context structures programs get at run time: the uapi structure (<c>struct xdp_md</c>, <c>struct __sk_buff</c>)
/// at its own offsets for the numeric fields, followed by the three packet pointers as 64-bit values. Loads of the
/// 32-bit uapi pointer fields are rewritten to 64-bit loads of these (see <see cref="ContextRewriter"/>), as the kernel
/// rewrites them to loads of its own structures.
/// </summary>
internal static class NativeContext
{
    /// <summary>Size of <c>struct xdp_md</c>.</summary>
    public const int XdpUapiSize = 24;

    /// <summary>Size of <c>struct __sk_buff</c>.</summary>
    public const int SkBuffUapiSize = 192;

    /// <summary>The packet pointers: data, data_end, data_meta (in this order, 8 bytes each), after the uapi part.</summary>
    public static int PointersOffset(KernelProgramType type) => type == KernelProgramType.Xdp ? XdpUapiSize : SkBuffUapiSize;

    /// <summary>The whole native context's size.</summary>
    public static int Size(KernelProgramType type) => PointersOffset(type) + 24;

    /// <summary>The native offset of the 64-bit pointer the uapi field <paramref name="field"/> (<c>data</c>, <c>data_end</c> or <c>data_meta</c>) maps to.</summary>
    public static int PointerOffset(KernelProgramType type, string field) => PointersOffset(type) + field switch
    {
        "data" => 0,
        "data_end" => 8,
        "data_meta" => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a packet pointer field"),
    };
}
