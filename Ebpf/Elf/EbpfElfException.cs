namespace Ebpf.Elf;

/// <summary>An ELF object that cannot be loaded: what is wrong and where (section, offset, symbol).</summary>
public sealed class EbpfElfException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="where">Where the problem is (e.g. <c>section .rel.text, entry 3, offset 0x40</c>).</param>
    /// <param name="reason">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public EbpfElfException(string where, string reason, Exception? innerException = null)
        : base($"ELF error in {where}: {reason}", innerException)
    {
        Where = where;
        Reason = reason;
    }

    /// <summary>Where the problem is.</summary>
    public string Where { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
