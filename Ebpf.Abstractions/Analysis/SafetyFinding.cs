namespace Ebpf.Analysis;

/// <summary>Something the safety analysis could not accept at one instruction.</summary>
/// <param name="Pc">The slot.</param>
/// <param name="Instruction">The instruction, as text.</param>
/// <param name="Message">Why: the register and the rule (e.g. "r3: offset 100 (1 byte) may exceed the input length, len in [0, inf)").</param>
/// <param name="State">The abstract state before the instruction, as a log line (registers, stack slots, proven input length).</param>
public sealed record SafetyFinding(int Pc, string Instruction, string Message, string State)
{
    private readonly Func<int, string>? instructionText;
    private readonly Func<string>? stateText;
    private string? instruction = Instruction;
    private string? state = State;

    /// <summary>A finding whose instruction text and state line are formatted when first read (the analysis reports many that nobody prints).</summary>
    internal SafetyFinding(int pc, Func<int, string> instruction, string message, Func<string> state)
        : this(pc, (string)null!, message, (string)null!)
    {
        instructionText = instruction;
        stateText = state;
    }

    /// <summary>The instruction, as text.</summary>
    public string Instruction
    {
        get => instruction ??= instructionText!(Pc);
        init => instruction = value;
    }

    /// <summary>The abstract state before the instruction, as a log line (registers, stack slots, proven input length).</summary>
    public string State
    {
        get => state ??= stateText!();
        init => state = value;
    }

    /// <summary>The finding as the verifier log shows it: the instruction, the state before it, and why.</summary>
    public string ToLog(string what) => $"{Pc}: {Instruction}\n    ; {State}\n    {what}: {Message}";

    /// <summary>True when both name the same pc, instruction, message and state.</summary>
    public bool Equals(SafetyFinding? other) =>
        other is not null && Pc == other.Pc && Instruction == other.Instruction && Message == other.Message && State == other.State;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Pc, Instruction, Message, State);

    /// <inheritdoc />
    public override string ToString() => $"{Pc}: {Instruction}: {Message}";
}
