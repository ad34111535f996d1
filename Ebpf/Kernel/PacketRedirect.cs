namespace Ebpf.Kernel;

/// <summary>Where <c>bpf_redirect</c> or <c>bpf_redirect_map</c> sent a packet (recorded by the test run; nothing is sent).</summary>
/// <param name="Target">The interface index (bpf_redirect, device maps: the ifindex the entry holds), CPU (CPU maps: the key) or queue (socket maps: the key) the packet goes to.</param>
/// <param name="Flags">The flags the program passed (e.g. <c>BPF_F_INGRESS</c> = 1 for tc).</param>
/// <param name="MapName">The map for bpf_redirect_map, null for bpf_redirect.</param>
/// <param name="Key">The map key for bpf_redirect_map.</param>
public sealed record PacketRedirect(uint Target, ulong Flags, string? MapName = null, uint Key = 0)
{
    /// <inheritdoc />
    public override string ToString() => MapName is null ? $"ifindex {Target}" : $"{MapName}[{Key}] -> {Target}";
}
