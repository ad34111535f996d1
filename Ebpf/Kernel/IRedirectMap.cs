namespace Ebpf.Kernel;

/// <summary>
/// A map <c>bpf_redirect_map</c> can send packets through (device, CPU or XDP socket maps): the packet helpers ask it
/// where a key leads. Map types implement it; a map that does not is not a redirect target.
/// </summary>
public interface IRedirectMap
{
    /// <summary>The map's name.</summary>
    string Name { get; }

    /// <summary>The interface index, CPU or queue the entry <paramref name="key"/> redirects to; false when there is no such entry.</summary>
    bool TryGetRedirectTarget(uint key, out uint target);
}
