using Ebpf.Helpers;

namespace Ebpf.X64.Compiler;

/// <summary>
/// A helper call in the generated code: its pc, the helper (null for <c>callx</c>, resolved at run time), and the map
/// lookup the host calls instead of the helper (see <see cref="DirectLookup"/>), or null, and for a
/// <c>bpf_tail_call</c> through a program array the compiler knows, the targets the host enters itself (see
/// <see cref="TailCallTargets"/>), or null; and the entry point of its static rbpf-style helper that code whose helper
/// calls return to the host leaves with (see <c>X64CompiledProgram.StaticEntry</c>), or 0: the host calls that itself.
/// </summary>
internal readonly record struct HelperSite(int Pc, Helper? Helper, DirectLookup? Lookup = null, TailCallTargets? TailCalls = null, nint Entry = 0);
