using System.Buffers.Binary;

namespace Ebpf.Maps;

/// <summary>
/// The maps <c>bpf_redirect_map</c> sends packets through: <c>BPF_MAP_TYPE_DEVMAP</c> and
/// <c>BPF_MAP_TYPE_DEVMAP_HASH</c> (value: u32 ifindex, or <c>struct bpf_devmap_val</c> of 8 bytes),
/// <c>BPF_MAP_TYPE_CPUMAP</c> (value: u32 queue size, or <c>struct bpf_cpumap_val</c> of 8 bytes) and
/// <c>BPF_MAP_TYPE_XSKMAP</c> (value: u32 socket). There are no devices, CPUs or sockets behind them: the map stores
/// the values the host puts there, and <see cref="Resolve"/> tells where a redirect would go. Entries start absent and
/// can be deleted; the array forms (devmap, cpumap, xskmap) take keys below <see cref="BpfMap.MaxEntries"/> and, as
/// in Linux, refuse <see cref="MapUpdateFlags.NoExist"/> with <c>-EEXIST</c>. Programs may look entries up (read-only
/// in Linux; here the value is in the map's region like any other).
/// </summary>
public sealed class RedirectMap : HashMap, IRedirectTarget
{
    /// <summary>Creates a redirect map.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or of another type.</exception>
    public RedirectMap(MapDefinition definition)
        : base(definition, BpfMapType.DevMap, BpfMapType.DevMapHash, BpfMapType.CpuMap, BpfMapType.XskMap)
    {
    }

    /// <inheritdoc />
    public bool Resolve(uint key, out RedirectTarget target)
    {
        Span<byte> keyBytes = stackalloc byte[4];
        Span<byte> value = stackalloc byte[ValueSize];
        BinaryPrimitives.WriteUInt32LittleEndian(keyBytes, key);
        bool present = !IsDisposed && TryLookup(keyBytes, value);
        target = present ? new RedirectTarget(Type, Name, key, BinaryPrimitives.ReadUInt32LittleEndian(value)) : default;
        return present;
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu)
    {
        if (Type != BpfMapType.DevMapHash)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(key) >= (uint)MaxEntries)
            {
                return MapStatus.TooBig;
            }

            if (flags == MapUpdateFlags.NoExist)
            {
                return MapStatus.Exists;
            }
        }

        return base.UpdateCore(key, value, Type == BpfMapType.DevMapHash ? flags : MapUpdateFlags.Any, cpu);
    }
}
