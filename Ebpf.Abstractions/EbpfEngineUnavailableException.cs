namespace Ebpf;

/// <summary>An engine that cannot run on this machine or runtime was asked to compile.</summary>
public sealed class EbpfEngineUnavailableException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    public EbpfEngineUnavailableException(string engine, string reason)
        : base($"engine '{engine}' is not available here: {reason}")
    {
        Engine = engine;
        Reason = reason;
    }

    /// <summary>The engine's name.</summary>
    public string Engine { get; }

    /// <summary>Why it is unavailable.</summary>
    public string Reason { get; }
}
