namespace Ebpf;

/// <summary>A debugger request that cannot be carried out: the session is not paused, a register does not exist, memory is outside the run's regions.</summary>
public sealed class EbpfDebuggerException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    public EbpfDebuggerException(string message)
        : base(message)
    {
    }
}
