namespace Ebpf.Maps;

/// <summary>Where <c>bpf_redirect_map</c> sends a packet: the map's type, the key used and the value stored there.</summary>
/// <param name="MapType">
/// <see cref="BpfMapType.DevMap"/> or <see cref="BpfMapType.DevMapHash"/> (a device: <paramref name="Value"/> is its
/// ifindex), <see cref="BpfMapType.CpuMap"/> (a CPU: <paramref name="Key"/> is the CPU, <paramref name="Value"/> its queue
/// size) or <see cref="BpfMapType.XskMap"/> (an AF_XDP socket on queue <paramref name="Key"/>: <paramref name="Value"/>
/// is the number the host stored for it).
/// </param>
/// <param name="MapName">The map's name.</param>
/// <param name="Key">The key (index, CPU or queue) the program passed.</param>
/// <param name="Value">The first u32 of the value stored at the key.</param>
public readonly record struct RedirectTarget(BpfMapType MapType, string MapName, uint Key, uint Value);
