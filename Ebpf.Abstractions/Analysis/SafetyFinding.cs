namespace Ebpf.Analysis;

/// <summary>Something the safety analysis could not accept at one instruction.</summary>
/// <param name="Pc">The slot.</param>
/// <param name="Instruction">The instruction, as text.</param>
/// <param name="Message">Why: the register and the rule (e.g. "r3: offset 100 (1 byte) may exceed the input length, len in [0, inf)").</param>
/// <param name="State">The abstract state before the instruction, as a log line (registers, stack slots, proven input length).</param>
public sealed record SafetyFinding(int Pc, string Instruction, string Message, string State)
{
    /// <summary>The finding as the verifier log shows it: the instruction, the state before it, and why.</summary>
    public string ToLog(string what) => $"{Pc}: {Instruction}\n    ; {State}\n    {what}: {Message}";

    /// <inheritdoc />
    public override string ToString() => $"{Pc}: {Instruction}: {Message}";
}
