using Ebpf.Helpers;

namespace Ebpf.X64.Compiler;

/// <summary>
/// A helper call in the generated code: its pc, the helper (null for <c>callx</c>, resolved at run time), and the map
/// lookup the host calls instead of the helper (see <see cref="DirectLookup"/>), or null.
/// </summary>
internal readonly record struct HelperSite(int Pc, Helper? Helper, DirectLookup? Lookup = null);
