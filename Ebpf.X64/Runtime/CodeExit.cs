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
/// <see cref="Value"/> either the entry point of the site's rbpf-style helper, a static method's
/// (<see cref="IsHelperEntry"/>: a user-space address, so bit 63 is clear and it is not 0) or an instance method's with
/// <see cref="SiteFlag"/> and <see cref="InstanceFlag"/> set (<see cref="IsInstanceEntry"/>), which the host calls with
/// r1-r5 from the block's arguments (the site is in <see cref="RunBlock.ExitSite"/>, for the host's error paths and an
/// instance method's target), or, with <see cref="SiteFlag"/> set and <see cref="InstanceFlag"/> clear,
/// the call site's index in its low 32 bits (r1-r5 in the block's arguments), -1 for a yield of a loop that calls no
/// helper (r0 in <see cref="RunBlock.HeldR0"/>, to resume with).</item>
/// </list>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct CodeExit
{
    /// <summary>Bit 63 of <see cref="Value"/> at an exit that names its call site (see the struct).</summary>
    public const ulong SiteFlag = 1UL << 63;

    /// <summary>r0 at the end of the run, or the helper's entry point or the call site (see the struct).</summary>
    public readonly ulong Value;

    /// <summary>The resume entry, or 0 at the end of the run (see the struct).</summary>
    public readonly nint Resume;

    /// <summary>
    /// Bit 62 of <see cref="Value"/>, with <see cref="SiteFlag"/>: the low bits are the entry point of an instance method
    /// (a lambda's, see <c>X64CompiledProgram.InstanceEntry</c>), which the host calls with the delegate's target as its
    /// first argument. User-space addresses are below 2^47, so both bits are free in an entry point; with bit 63 set,
    /// such an exit is no <see cref="IsHelperEntry"/>, so the test of the static call stays one sign test.
    /// </summary>
    public const ulong InstanceFlag = 1UL << 62;

    /// <summary>The call site <see cref="Value"/> names when it is not a helper's entry point: -1 for a yield.</summary>
    public int Site => (int)(uint)Value;

    /// <summary>True when <see cref="Value"/> is the entry point of a static rbpf-style helper the host calls itself.</summary>
    public bool IsHelperEntry => (long)Value > 0;

    /// <summary>True when <see cref="Value"/> is the entry point of an instance method (see <see cref="InstanceFlag"/>).</summary>
    public bool IsInstanceEntry => (Value & InstanceFlag) != 0;

    /// <summary>The entry point of an <see cref="IsInstanceEntry"/> exit.</summary>
    public nint InstanceEntry => (nint)(Value & ~(InstanceFlag | SiteFlag));
}
