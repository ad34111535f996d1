using Ebpf.Isa;

namespace Ebpf;

/// <summary>A program calls a helper id that the environment's helper table does not hold (raised at compile time).</summary>
public sealed class EbpfUnknownHelperException : EbpfCompilationException
{
    /// <summary>Creates the exception.</summary>
    public EbpfUnknownHelperException(string engine, int pc, Instruction instruction, uint helperId)
        : base(engine, pc, instruction, $"unknown helper id {helperId} (register it in the environment's helper table)")
    {
        HelperId = helperId;
    }

    /// <summary>The helper id the program calls.</summary>
    public uint HelperId { get; }
}
