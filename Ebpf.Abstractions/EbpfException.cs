namespace Ebpf;

/// <summary>The base of every error this library raises on bad programs, bad input or failed runs.</summary>
public class EbpfException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public EbpfException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public EbpfException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
