namespace Ebpf.Maps;

/// <summary>A map <c>bpf_redirect_map</c> can send packets through (devmap, devmap_hash, cpumap, xskmap).</summary>
public interface IRedirectTarget
{
    /// <summary>Finds where a redirect through key <paramref name="key"/> goes; false when the key holds no entry.</summary>
    bool Resolve(uint key, out RedirectTarget target);
}
