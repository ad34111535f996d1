using Ebpf.Helpers;

namespace Ebpf.X64.Compiler;

/// <summary>A helper call in the generated code: its pc and the helper (null for <c>callx</c>, resolved at run time).</summary>
internal readonly record struct HelperSite(int Pc, Helper? Helper);
