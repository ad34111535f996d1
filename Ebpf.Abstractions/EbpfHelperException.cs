using Ebpf.Isa;

namespace Ebpf;

/// <summary>A helper that failed (threw) or a <c>callx</c> to an unknown helper id.</summary>
public sealed class EbpfHelperException : EbpfRuntimeException
{
    /// <summary>Creates the exception for a helper that threw <paramref name="innerException"/>.</summary>
    public EbpfHelperException(int pc, Instruction instruction, uint helperId, string helperName, Exception innerException)
        : base(RuntimeErrorKind.HelperFailed, pc, instruction, $"helper {helperId} ({helperName}) failed: {innerException.Message}", innerException)
    {
        HelperId = helperId;
    }

    /// <summary>Creates the exception for a <c>callx</c> whose register holds an unregistered helper id.</summary>
    public EbpfHelperException(int pc, Instruction instruction, ulong helperId)
        : base(RuntimeErrorKind.UnknownHelper, pc, instruction, $"callx to unknown helper id {helperId}")
    {
        HelperId = helperId;
    }

    /// <summary>The helper id concerned.</summary>
    public ulong HelperId { get; }
}
