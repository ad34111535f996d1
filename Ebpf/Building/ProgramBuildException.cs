namespace Ebpf.Building;

/// <summary>A <see cref="ProgramBuilder"/> could not produce a program: an undefined or duplicate label, or a jump that does not reach.</summary>
public sealed class ProgramBuildException : EbpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="label">The label concerned.</param>
    /// <param name="slot">The slot of the instruction that uses the label, or -1 when the problem is the label itself.</param>
    /// <param name="reason">What is wrong.</param>
    public ProgramBuildException(string label, int slot, string reason)
        : base(reason)
    {
        Label = label;
        Slot = slot;
    }

    /// <summary>The label concerned.</summary>
    public string Label { get; }

    /// <summary>The slot of the instruction that uses <see cref="Label"/>, or -1.</summary>
    public int Slot { get; }
}
