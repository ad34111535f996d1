namespace Ebpf.Kernel.Pcap;

/// <summary>A capture file that cannot be read: what is wrong and, for a frame, which one.</summary>
public sealed class EbpfPcapException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    public EbpfPcapException(string message)
        : base(message)
    {
    }
}
