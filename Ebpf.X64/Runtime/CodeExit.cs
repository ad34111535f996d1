using System.Runtime.InteropServices;

namespace Ebpf.X64.Runtime;

/// <summary>
/// What code whose helper calls return to the host returns from its entry and from each resume entry: two integers,
/// in rax and rdx (the ABI's 16-byte result in registers), so that a helper call needs no store of a status, a site or
/// an address in the run block and the host no load of them.
/// <list type="bullet">
/// <item><see cref="Resume"/> 0: the run has left the code for good. It completed with r0 in <see cref="Value"/>
/// (<see cref="RunBlock.Status"/> <see cref="RunStatus.Completed"/>), or failed with the status and error details in
/// the block (<see cref="Value"/> is then meaningless).</item>
/// <item>Otherwise the code left for a helper call: <see cref="Resume"/> is the call site's resume entry
/// <c>CodeExit (RunBlock*, ulong result)</c>, which continues after the call with the result as r0, and
/// <see cref="Value"/> the call site's index (r1-r5 in the block's arguments), or -1 as a 32-bit value (0xFFFFFFFF)
/// for a yield of a loop that calls no helper (r0 in <see cref="RunBlock.HeldR0"/>, to resume with).</item>
/// </list>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct CodeExit
{
    /// <summary>r0 at the end of the run, or the helper call site (see the struct).</summary>
    public readonly ulong Value;

    /// <summary>The resume entry, or 0 at the end of the run (see the struct).</summary>
    public readonly nint Resume;

    /// <summary>The call site <see cref="Value"/> names: -1 for a yield.</summary>
    public int Site => (int)(uint)Value;
}
