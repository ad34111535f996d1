namespace Ebpf.Maps;

/// <summary>A map whose contents cannot be used as asked (e.g. a ring buffer record a program garbled).</summary>
public sealed class EbpfMapException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="map">The map's name.</param>
    /// <param name="reason">What is wrong.</param>
    public EbpfMapException(string map, string reason)
        : base($"map '{map}': {reason}")
    {
        MapName = map;
        Reason = reason;
    }

    /// <summary>The map's name.</summary>
    public string MapName { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
