namespace Ebpf.Kernel;

/// <summary>
/// A test run the kernel's <c>BPF_PROG_TEST_RUN</c> would refuse (it answers <c>EINVAL</c>): a packet shorter than an
/// Ethernet header, longer than the program type's buffer, or (for socket buffers) too short for the network header
/// its EtherType announces; or a program that cannot be prepared for its type.
/// </summary>
public sealed class EbpfTestRunException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    public EbpfTestRunException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public EbpfTestRunException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
