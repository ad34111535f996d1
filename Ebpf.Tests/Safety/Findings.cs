using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>The findings of an analysis as assertion text.</summary>
public static class Findings
{
    /// <summary>Every error and unproven point, one per line.</summary>
    public static string Messages(SafetyAnalysis analysis) =>
        string.Join("\n", analysis.Errors.Concat(analysis.Unproven).Select(f => f.ToString()));
}
