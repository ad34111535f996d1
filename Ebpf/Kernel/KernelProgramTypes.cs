namespace Ebpf.Kernel;

/// <summary>Finds a program's <see cref="KernelProgramType"/> from its ELF section name by libbpf's conventions, or from a type name.</summary>
public static class KernelProgramTypes
{
    /// <summary>
    /// The type libbpf gives a program in section <paramref name="section"/>: <c>xdp</c>, <c>xdp.frags</c>,
    /// <c>xdp/...</c>, <c>xdp.frags/...</c> and any other section starting with <c>xdp</c> (e.g. <c>xdp_icmp_echo</c>,
    /// which loaders treat as XDP) are XDP; <c>tc</c>, <c>tc/...</c>, <c>classifier</c>, <c>classifier/...</c> and
    /// <c>tcx/...</c> are tc classifiers; <c>socket</c> and <c>socket/...</c> are socket filters. Null for any other
    /// section.
    /// </summary>
    public static KernelProgramType? FromSection(string? section)
    {
        if (string.IsNullOrEmpty(section))
        {
            return null;
        }

        if (section.StartsWith("xdp", StringComparison.Ordinal))
        {
            return KernelProgramType.Xdp;
        }

        if (Matches(section, "tc") || Matches(section, "classifier") || section.StartsWith("tcx/", StringComparison.Ordinal))
        {
            return KernelProgramType.SchedCls;
        }

        return Matches(section, "socket") ? KernelProgramType.SocketFilter : null;
    }

    /// <summary>
    /// Parses a type name as the <c>ebpf test-run --type</c> option takes it: <c>xdp</c>; <c>tc</c>, <c>sched_cls</c>
    /// or <c>classifier</c>; <c>socket</c> or <c>socket_filter</c> (case-insensitive).
    /// </summary>
    /// <exception cref="ArgumentException">The name is none of those.</exception>
    public static KernelProgramType Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToUpperInvariant() switch
        {
            "XDP" => KernelProgramType.Xdp,
            "TC" or "SCHED_CLS" or "CLASSIFIER" => KernelProgramType.SchedCls,
            "SOCKET" or "SOCKET_FILTER" => KernelProgramType.SocketFilter,
            _ => throw new ArgumentException($"unknown program type '{name}' (xdp, tc, socket)", nameof(name)),
        };
    }

    /// <summary>
    /// The expected attach type libbpf gives an XDP program that runs from a map, by its section: <c>BPF_XDP_DEVMAP</c>
    /// for <c>xdp/devmap</c> and <c>xdp.frags/devmap</c>, <c>BPF_XDP_CPUMAP</c> for <c>xdp/cpumap</c> and
    /// <c>xdp.frags/cpumap</c>; null for any other section (<c>BPF_XDP</c>). Only a devmap program may read
    /// <c>xdp_md.egress_ifindex</c>, and the kernel's test run refuses both kinds (checked on Linux 6.18).
    /// </summary>
    internal static string? XdpMapAttachType(string? section) => section switch
    {
        "xdp/devmap" or "xdp.frags/devmap" => "BPF_XDP_DEVMAP",
        "xdp/cpumap" or "xdp.frags/cpumap" => "BPF_XDP_CPUMAP",
        _ => null,
    };

    /// <summary>Throws <see cref="EbpfTestRunException"/> when <paramref name="type"/> is not a defined <see cref="KernelProgramType"/> (e.g. a number cast to it).</summary>
    internal static KernelProgramType Checked(KernelProgramType type) =>
        Enum.IsDefined(type) ? type : throw new EbpfTestRunException($"{(int)type} is not a kernel program type (Xdp, SchedCls, SocketFilter)");

    private static bool Matches(string section, string prefix) =>
        section == prefix || (section.StartsWith(prefix, StringComparison.Ordinal) && section.Length > prefix.Length && section[prefix.Length] == '/');
}
