namespace Ebpf;

/// <summary>A function of a program: the slots <c>[Start, End)</c>. The entry function starts at 0; the others are local-call targets.</summary>
/// <param name="Start">The first slot.</param>
/// <param name="End">One past the last slot.</param>
public readonly record struct FunctionInfo(int Start, int End)
{
    /// <summary>The number of slots.</summary>
    public int Length => End - Start;

    /// <summary>True when <paramref name="pc"/> is inside the function.</summary>
    public bool Contains(int pc) => pc >= Start && pc < End;
}
