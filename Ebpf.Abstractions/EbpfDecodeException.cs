namespace Ebpf;

/// <summary>Bytes that do not form a sequence of 8-byte instruction slots.</summary>
public sealed class EbpfDecodeException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">What is wrong.</param>
    /// <param name="byteOffset">The byte offset in the input where the problem is.</param>
    public EbpfDecodeException(string reason, int byteOffset)
        : base($"cannot decode program at byte {byteOffset}: {reason}")
    {
        Reason = reason;
        ByteOffset = byteOffset;
    }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }

    /// <summary>The byte offset in the input where the problem is.</summary>
    public int ByteOffset { get; }
}
