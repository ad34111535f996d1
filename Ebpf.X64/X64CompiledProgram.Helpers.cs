using System.Reflection;
using System.Runtime.CompilerServices;
using Ebpf.Helpers;
using Ebpf.X64.Compiler;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>The host side of helper calls that return to the host: the fast path for rbpf-style helpers.</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// By helper call site: the rbpf-style function of the site's helper (<see cref="Helper.Simple"/>) and, when that
    /// delegate names one static method, the method's entry point; a null function for a <c>callx</c> site or a helper
    /// that takes a <see cref="HelperContext"/> (those go through <see cref="CallHelper"/>).
    /// </summary>
    private readonly SimpleCall[] simpleHelpers;

    /// <summary>The rbpf-style functions of <paramref name="sites"/>, by site (see <see cref="simpleHelpers"/>).</summary>
    private static SimpleCall[] SimpleHelpers(HelperSite[] sites) =>
        Array.ConvertAll(sites, site => site.Helper?.Simple is { } simple ? new SimpleCall(simple, StaticEntry(simple)) : default);

    /// <summary>
    /// The entry point of the one static method <paramref name="function"/> names, or 0 when it names an instance
    /// method, several methods, a generic one or one with its first argument bound, or the runtime does not give the entry point (e.g. a method without
    /// reflection data after trimming). Calling a delegate of a static method goes through a stub that moves the
    /// arguments by one register (the delegate's target slot); calling the method's entry point does not.
    /// </summary>
    internal static nint StaticEntry(HelperFunction function)
    {
        if (function.Target is not null || !function.HasSingleTarget)
        {
            return 0;
        }

        try
        {
            MethodInfo method = function.Method;
            // Five parameters: a static method bound to the delegate with its first argument closed (over null) has six.
            return method.IsStatic && !method.IsGenericMethod && method.DeclaringType is { IsGenericType: false }
                && method.GetParameters().Length == 5
                ? method.MethodHandle.GetFunctionPointer()
                : 0;
        }
        catch (Exception e) when (e is NotSupportedException or PlatformNotSupportedException or InvalidOperationException or MemberAccessException)
        {
            // Without reflection data the delegate is called as it is.
            return 0;
        }
    }

    /// <summary>
    /// Calls the rbpf-style helper of call site <paramref name="site"/> with r1-r5 from the block, with the rules
    /// <see cref="Execution.CompiledProgram"/>'s helper invocation applies to every engine's calls: an exception other
    /// than an <see cref="EbpfRuntimeException"/> becomes the helper's <see cref="EbpfHelperException"/>, and a run
    /// cancelled during the call stops when it returns. Such a helper gets no context, so it cannot stop the run or
    /// call back: no budget hand-over, no stop check. The direct call (no site table, no thirteen-argument invocation,
    /// no context; a static method called at its entry point) is what makes a call cheap where the program calls such
    /// helpers in a loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CallSimpleHelper(RunBlock* block, int site, in SimpleCall call)
    {
        ulong result;
        try
        {
            result = call.Entry != 0
                ? ((delegate*<ulong, ulong, ulong, ulong, ulong, ulong>)call.Entry)(block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5)
                : call.Function!(block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5);
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

    /// <summary>An rbpf-style helper's delegate and, for one static method, its entry point (0 otherwise).</summary>
    private readonly record struct SimpleCall(HelperFunction? Function, nint Entry);
}
