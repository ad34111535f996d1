using Ebpf.Isa;

namespace Ebpf;

/// <summary>A program rejected before it runs: the slot (pc), the instruction and the rule it breaks.</summary>
public sealed class EbpfVerificationException : EbpfException
{
    /// <summary>Creates the exception for an instruction.</summary>
    /// <param name="pc">The slot index of the offending instruction, or -1 for the program as a whole.</param>
    /// <param name="instruction">The offending instruction, when there is one.</param>
    /// <param name="reason">The rule that is broken.</param>
    public EbpfVerificationException(int pc, Instruction? instruction, string reason)
        : base(Describe(pc, instruction, reason))
    {
        Pc = pc;
        Instruction = instruction;
        Reason = reason;
    }

    /// <summary>Creates the exception for the program as a whole (no particular instruction).</summary>
    public EbpfVerificationException(string reason)
        : this(-1, null, reason)
    {
    }

    /// <summary>The slot index of the offending instruction, or -1 for the whole program.</summary>
    public int Pc { get; }

    /// <summary>The offending instruction, if any.</summary>
    public Instruction? Instruction { get; }

    /// <summary>The rule that is broken, without the location.</summary>
    public string Reason { get; }

    private static string Describe(int pc, Instruction? instruction, string reason) =>
        pc < 0
            ? $"verification failed: {reason}"
            : instruction is { } i
                ? $"verification failed at pc {pc} ({i}): {reason}"
                : $"verification failed at pc {pc}: {reason}";
}
