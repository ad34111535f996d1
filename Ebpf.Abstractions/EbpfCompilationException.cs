using Ebpf.Isa;

namespace Ebpf;

/// <summary>An engine could not prepare a verified program to run (e.g. an unknown helper id, an unresolved pseudo <c>lddw</c>, an unavailable engine).</summary>
public class EbpfCompilationException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="engine">The engine's name.</param>
    /// <param name="pc">The slot of the instruction concerned, or -1.</param>
    /// <param name="instruction">The instruction concerned, if any.</param>
    /// <param name="reason">What is wrong.</param>
    public EbpfCompilationException(string engine, int pc, Instruction? instruction, string reason)
        : base(pc < 0
            ? $"{engine}: cannot compile program: {reason}"
            : $"{engine}: cannot compile program at pc {pc} ({instruction}): {reason}")
    {
        Engine = engine;
        Pc = pc;
        Instruction = instruction;
        Reason = reason;
    }

    /// <summary>The engine's name.</summary>
    public string Engine { get; }

    /// <summary>The slot of the instruction concerned, or -1.</summary>
    public int Pc { get; }

    /// <summary>The instruction concerned, if any.</summary>
    public Instruction? Instruction { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
