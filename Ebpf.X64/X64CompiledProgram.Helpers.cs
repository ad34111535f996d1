using System.Runtime.CompilerServices;
using Ebpf.Helpers;
using Ebpf.X64.Compiler;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>The host side of helper calls that return to the host: the fast path for rbpf-style helpers.</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// By helper call site: the rbpf-style function of the site's helper (<see cref="Helper.Simple"/>), or null for a
    /// <c>callx</c> site or a helper that takes a <see cref="HelperContext"/> (those go through <see cref="CallHelper"/>).
    /// </summary>
    private readonly HelperFunction?[] simpleHelpers;

    /// <summary>The rbpf-style functions of <paramref name="sites"/>, by site (see <see cref="simpleHelpers"/>).</summary>
    private static HelperFunction?[] SimpleHelpers(HelperSite[] sites) => Array.ConvertAll(sites, site => site.Helper?.Simple);

    /// <summary>
    /// Calls the rbpf-style helper of call site <paramref name="site"/> with r1-r5 from the block, with the rules
    /// <see cref="Execution.CompiledProgram"/>'s helper invocation applies to every engine's calls: an exception other
    /// than an <see cref="EbpfRuntimeException"/> becomes the helper's <see cref="EbpfHelperException"/>, and a run
    /// cancelled during the call stops when it returns. Such a helper gets no context, so it cannot stop the run or
    /// call back: no budget hand-over, no stop check. The direct call (no site table, no thirteen-argument invocation,
    /// no context) is what makes a call cheap where the program calls such helpers in a loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CallSimpleHelper(RunBlock* block, int site, HelperFunction simple)
    {
        ulong result;
        try
        {
            result = simple(block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5);
        }
        catch (Exception e) when (e is not EbpfRuntimeException)
        {
            throw SimpleHelperFailure(site, e);
        }

        if (Volatile.Read(ref block->State->CancelRequested) != 0)
        {
            throw CancelledAt(Program, sites[site].Pc, ref *block->State);
        }

        return result;
    }

    /// <summary>The error of an rbpf-style helper that threw <paramref name="error"/> at call site <paramref name="site"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private EbpfHelperException SimpleHelperFailure(int site, Exception error) =>
        HelperFailure(Program, sites[site].Pc, sites[site].Helper!, error);
}
