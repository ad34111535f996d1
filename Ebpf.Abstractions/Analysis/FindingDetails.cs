using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// Where the findings of an analysis run without states get their instruction text and state line when first read:
/// the state comes from one re-run of the (deterministic) analysis that keeps a snapshot per finding. So the analysis
/// the engines run at compile time formats and keeps nothing it does not need, and a reader of
/// <see cref="SafetyFinding.State"/> pays for one more analysis.
/// </summary>
internal sealed class FindingDetails(EbpfProgram program, SafetyContext context)
{
    private SafetyAnalysis? detailed;

    /// <summary>The text of the instruction at <paramref name="pc"/>.</summary>
    internal static string Text(EbpfProgram program, int pc)
    {
        var insn = program.Decoded[pc];
        return insn.Operation == Operation.Lddw
            ? InstructionFormatter.Format(program.Instructions[pc], program.Instructions[pc + 1])
            : InstructionFormatter.Format(program.Instructions[pc]);
    }

    internal string Text(int pc) => Text(program, pc);

    /// <summary>The state line of finding <paramref name="index"/> of the errors (or the unproven points).</summary>
    internal string State(bool error, int index, int pc)
    {
        detailed ??= SafetyAnalyzer.Analyze(program, context, withLog: false, withStates: true);
        var list = error ? detailed.Errors : detailed.Unproven;
        return index < list.Length && list[index].Pc == pc ? list[index].State : string.Empty;
    }
}
