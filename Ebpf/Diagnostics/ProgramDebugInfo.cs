namespace Ebpf.Diagnostics;

/// <summary>
/// What a program's origin says about its slots: the C source line each came from (ELF objects built with clang
/// <c>-g</c>) and the name each relocated instruction referred to (a map, a global variable, a local function or a
/// helper). Tools print it beside instructions: the profile shows source lines, the LLVM-syntax listing shows names.
/// </summary>
public sealed class ProgramDebugInfo
{
    private readonly SourceLine?[] lines;
    private readonly Dictionary<int, string> symbols;

    /// <summary>Creates the information for a program of <paramref name="length"/> slots.</summary>
    /// <param name="length">The number of slots.</param>
    /// <param name="lines">The source line of each pc that has one (pcs outside the program are ignored).</param>
    /// <param name="symbols">The name each relocated instruction refers to, by pc.</param>
    public ProgramDebugInfo(int length, IReadOnlyDictionary<int, SourceLine>? lines = null, IReadOnlyDictionary<int, string>? symbols = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        this.lines = new SourceLine?[length];
        foreach (var (pc, line) in lines ?? new Dictionary<int, SourceLine>())
        {
            if (pc >= 0 && pc < length)
            {
                this.lines[pc] = line;
            }
        }

        this.symbols = (symbols ?? new Dictionary<int, string>()).Where(s => s.Key >= 0 && s.Key < length).ToDictionary();
        HasLines = this.lines.Any(l => l is not null);
    }

    /// <summary>The number of slots of the program described.</summary>
    public int Length { get; }

    /// <summary>Why the source lines are missing although the object has line information (it is malformed), or null.</summary>
    public string? LineInfoProblem { get; init; }

    /// <summary>True when at least one slot has a source line.</summary>
    public bool HasLines { get; }

    /// <summary>The source line of the instruction at <paramref name="pc"/>, or null when unknown.</summary>
    public SourceLine? LineAt(int pc) => pc >= 0 && pc < Length ? lines[pc] : null;

    /// <summary>The name the instruction at <paramref name="pc"/> refers to through a relocation (map, global, function, helper), or null.</summary>
    public string? SymbolAt(int pc) => symbols.GetValueOrDefault(pc);
}
