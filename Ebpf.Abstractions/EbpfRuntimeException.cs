using Ebpf.Isa;

namespace Ebpf;

/// <summary>A run that stopped with an error: the kind, the slot (pc) and the instruction where it happened.</summary>
public class EbpfRuntimeException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">Why the run stopped.</param>
    /// <param name="pc">The slot of the instruction that failed.</param>
    /// <param name="instruction">The instruction that failed.</param>
    /// <param name="detail">A description of the failure, without the location.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public EbpfRuntimeException(RuntimeErrorKind kind, int pc, Instruction instruction, string detail, Exception? innerException = null)
        : base($"runtime error at pc {pc} ({instruction}): {detail}", innerException)
    {
        Kind = kind;
        Pc = pc;
        Instruction = instruction;
        Detail = detail;
    }

    /// <summary>Why the run stopped.</summary>
    public RuntimeErrorKind Kind { get; }

    /// <summary>The slot of the instruction that failed.</summary>
    public int Pc { get; }

    /// <summary>The instruction that failed.</summary>
    public Instruction Instruction { get; }

    /// <summary>A description of the failure, without the location.</summary>
    public string Detail { get; }
}
