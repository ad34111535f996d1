using System.Reflection;
using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Compiler;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>The host side of helper calls that return to the host: the run's helper loop and the fast path for rbpf-style
/// helpers.</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// By helper call site: the rbpf-style function of the site's helper when the code does not leave with its method's
    /// entry point (<see cref="HelperSite.Entry"/>, see <see cref="HelperEntry"/>, which the run's helper loop calls itself, see
    /// <see cref="RunWithHelperReturns"/>); null for a <c>callx</c> site or a helper that takes a
    /// <see cref="HelperContext"/> (those go through <see cref="CallHelper"/>).
    /// </summary>
    private readonly HelperFunction?[] simpleFunctions;

    /// <summary>The rbpf-style functions of <paramref name="sites"/> called as delegates, by site (see <see cref="simpleFunctions"/>).</summary>
    private static HelperFunction?[] SimpleFunctions(HelperSite[] sites) =>
        [.. sites.Select(site => site.Entry == 0 ? site.Helper?.Simple : null)];

    /// <summary>
    /// By helper call site: the target of the site's rbpf-style helper when the code leaves with the entry point of an
    /// instance method (<see cref="CodeExit.InstanceFlag"/>, see <see cref="InstanceEntry"/>), which the run's helper loop
    /// passes as the method's <c>this</c>; null elsewhere. Also what keeps the target alive as long as the code that
    /// names its method.
    /// </summary>
    private readonly object?[] helperTargets;

    /// <summary>By helper call site, the entry point the code leaves with (see <see cref="HelperEntry"/>), 0 where the host
    /// calls the helper otherwise; for tests.</summary>
    internal IReadOnlyList<nint> HelperSiteEntries => [.. sites.Select(site => site.Entry)];

    /// <summary>The targets of <paramref name="sites"/>' instance entries, by site (see <see cref="helperTargets"/>).</summary>
    private static object?[] HelperTargets(HelperSite[] sites) =>
        [.. sites.Select(site => ((ulong)site.Entry & CodeExit.InstanceFlag) != 0 ? site.Helper!.Simple!.Target : null)];

    /// <summary>
    /// The entry point the code leaves with for an rbpf-style helper <paramref name="function"/> (see
    /// <see cref="RunWithHelperReturns"/>): its static method's (<see cref="StaticEntry"/>), else its instance method's
    /// with <see cref="CodeExit.InstanceFlag"/> (<see cref="InstanceEntry"/>), else 0: the host calls it as a delegate.
    /// </summary>
    internal static nint HelperEntry(HelperFunction function)
    {
        nint entry = StaticEntry(function);
        if (entry == 0 && (entry = InstanceEntry(function)) != 0)
        {
            entry = (nint)((ulong)entry | CodeExit.InstanceFlag | CodeExit.SiteFlag);
        }

        return entry;
    }

    /// <summary>
    /// The entry point of the one static method <paramref name="function"/> names, or 0 when it names an instance
    /// method, several methods, a generic one or one with its first argument bound, or the runtime does not give the entry point (e.g. a method without
    /// reflection data after trimming). Calling a delegate of a static method goes through a stub that moves the
    /// arguments by one register (the delegate's target slot); calling the method's entry point does not.
    /// </summary>
    internal static nint StaticEntry(HelperFunction function) =>
        HelperMethods.Callable(function, 5) is { IsStatic: true } method ? EntryPoint(method) : 0;

    /// <summary>
    /// The entry point of the one instance method <paramref name="function"/> names with its target, when the host may
    /// call it with the target as its first argument (<c>this</c>) instead of through the delegate: a lambda or local
    /// function (an instance method of its closure class, even when it captures nothing) or an instance method of a
    /// class. Only a method whose code is the one the delegate runs: not virtual (the entry point would be the
    /// declaration's, not the target's override), of a class (a struct's method takes a reference to the unboxed value,
    /// not the box), not generic and of a type that is not generic (shared generic code may need a context the entry
    /// point does not carry), with five parameters, the target an instance of its type. 0 otherwise, or when the runtime
    /// does not give the entry point. Calling a delegate costs the load of its target and code and, where the runtime
    /// guessed another delegate at the call, a missed guess; the host's call at the entry point is one indirect call, as
    /// for a static method.
    /// </summary>
    internal static nint InstanceEntry(HelperFunction function) =>
        HelperMethods.Callable(function, 5) is { IsStatic: false } method ? EntryPoint(method) : 0;

    /// <summary>The entry point of <paramref name="method"/>, or 0 when the runtime does not give it.</summary>
    private static nint EntryPoint(MethodInfo method)
    {
        try
        {
            return method.MethodHandle.GetFunctionPointer();
        }
        catch (Exception e) when (e is NotSupportedException or PlatformNotSupportedException or InvalidOperationException or MemberAccessException)
        {
            // Without reflection data the delegate is called as it is.
            return 0;
        }
    }

    /// <summary>
    /// Runs code whose helper calls return to the host (<see cref="helpersReturn"/>) from its entry to its end: each time
    /// the code leaves for a helper call (<see cref="CodeExit"/>: a static helper's entry point or the flagged site in
    /// rax, its resume entry in rdx), calls the
    /// helper and re-enters the code at the resume entry with the result; returns r0 at the end (or at an error the
    /// block reports, or the stop value of a helper that stopped the run with <see cref="RunStatus.Stopped"/> in the
    /// block). An exception of a helper passes straight to the caller of the run. A static rbpf-style helper
    /// (<see cref="HelperSite.Entry"/>) is called here, at the entry point the code returned (compiled into the code, as
    /// the resume entries are; no site table, bounds check or load on the way), with r1-r5 from the block: an
    /// exception other than an <see cref="EbpfRuntimeException"/> becomes the helper's
    /// <see cref="EbpfHelperException"/>, and a run cancelled during the call stops when it returns (the rules
    /// <see cref="Execution.CompiledProgram"/>'s helper invocation applies to every engine's calls); such a helper gets no
    /// context, so it cannot stop the run or call back (its errors name the site the code wrote to the block,
    /// <see cref="RunBlock.ExitSite"/>). A lambda's or another qualifying instance method's entry point
    /// (<see cref="InstanceEntry"/>) is called the same way with the delegate's target first; any other rbpf-style helper is
    /// called as a delegate (<see cref="CallSimpleHelper"/>, same rules); yields and every other helper go through
    /// <see cref="CallOtherHelper"/>. The loop is <see cref="ContinueWithHelpers"/>, called only when the code left for
    /// the host. Not inlined, so that the run method of programs without helper calls stays as small as it was.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong RunWithHelperReturns(RunBlock* block)
    {
        if (savesFrames)
        {
            return RunWithSavedFrames(block);
        }

        var exit = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, CodeExit>)entry)(block);
        return exit.Resume == 0 ? exit.Value : ContinueRun(block, exit);
    }

    /// <summary>
    /// True when the code has local calls and its helper calls return to the host (see <see cref="HelperReturnAnalysis"/>):
    /// it leaves for the host from local functions with the native frames of their calls moved to the run's frame save
    /// area (<see cref="RunBlock.FrameSave"/>), which <see cref="RunWithSavedFrames"/> provides.
    /// </summary>
    private readonly bool savesFrames;

    /// <summary>
    /// <see cref="RunWithHelperReturns"/> for code that saves frames (<see cref="savesFrames"/>): the frame save area is
    /// this method's, alive until the run has left the code for good, and out of the program's reach (no region the
    /// checks allow lies in the native stack). It holds <see cref="RunBlock.MaxNestedFrames"/> frames: the code's
    /// call-depth check lets r10 go down to the stack start plus one frame, so with the run's stack area at most
    /// <see cref="RunBlock.MaxNestedFrames"/> + 1 frames long (<see cref="ExecutionOptions.MaxCallDepth"/> is at most 64;
    /// checked here against the block once per run) at most that many local calls are live. The block starts with no
    /// frame saved: the area's low end at its end, and a boundary no frame top reaches (see
    /// <see cref="RunBlock.FrameBoundary"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private ulong RunWithSavedFrames(RunBlock* block)
    {
        byte* frames = stackalloc byte[RunBlock.FrameSaveBytes];
        ulong area = block->StackEnd - (block->CallLimit - twoFrames);
        if (area > (ulong)Options.StackSize * (RunBlock.MaxNestedFrames + 1))
        {
            throw new InvalidOperationException("the run's stack area is longer than the x64 frame save area allows");
        }

        block->FrameSave = frames + RunBlock.FrameSaveBytes;
        block->FrameBoundary = ulong.MaxValue;
        var exit = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, CodeExit>)entry)(block);
        ulong r0 = exit.Resume == 0 ? exit.Value : ContinueRun(block, exit);

        // After the helper loop, so that its call is no tail call: a tail call would release this frame, and the area
        // with it, to the helper loop's own frame and the helpers' while the code's frames are saved there.
        block->FrameSave = null;
        return r0;
    }

    /// <summary>
    /// The helper loop of a run whose code left for the host at <paramref name="exit"/> (from
    /// <see cref="RunWithHelperReturns"/>, or from the repeated runs' own call, see <see cref="FinishRepeated"/>): calls
    /// the helper of each exit (see <see cref="RunWithHelperReturns"/>) and resumes the code until it ends; returns r0.
    /// Optimized from its first call (<see cref="MethodImplOptions.AggressiveOptimization"/>): left to tiering, a run of
    /// many calls went from the loop's tier-0 code to an on-stack-replacement copy within each run, and on a loaded host
    /// the method stayed there for whole processes (the suite's <c>helper_calls</c> at 8-16x native in some processes,
    /// against 2.2-3.0x where it reached tier 1); optimized without a profile, the loop is the same code as at tier 1
    /// with one (an earlier shape, with a site table, had been slower that way).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private ulong ContinueWithHelpers(RunBlock* block, CodeExit exit)
    {
        RunState* state = block->State;
        while (exit.Resume != 0)
        {
            ulong result;
            if (exit.IsHelperEntry)
            {
                try
                {
                    result = ((delegate*<ulong, ulong, ulong, ulong, ulong, ulong>)exit.Value)(block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5);
                }
                catch (Exception e) when (e is not EbpfRuntimeException)
                {
                    throw SimpleHelperFailure(block->ExitSite, e);
                }

                if (Volatile.Read(ref state->CancelRequested) != 0)
                {
                    throw CancelledAtSite(block->ExitSite, state);
                }
            }
            else if (exit.IsInstanceEntry)
            {
                // An instance method's entry (a lambda's): the delegate's target goes first, as its this. Beside the
                // static call rather than in its try: a test in that path measured ~1 ns more per static call.
                try
                {
                    result = ((delegate*<object, ulong, ulong, ulong, ulong, ulong, ulong>)exit.InstanceEntry)(
                        helperTargets[block->ExitSite]!, block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5);
                }
                catch (Exception e) when (e is not EbpfRuntimeException)
                {
                    throw SimpleHelperFailure(block->ExitSite, e);
                }

                if (Volatile.Read(ref state->CancelRequested) != 0)
                {
                    throw CancelledAtSite(block->ExitSite, state);
                }
            }
            else if (exit.Site >= 0 && simpleFunctions[exit.Site] is { } function)
            {
                // An rbpf-style helper without an entry point (a virtual method, a struct's, a generic type's, a
                // multicast delegate; see InstanceEntry): called as a delegate, from here rather than through CallOtherHelper (one call less per helper call;
                // sharing the try above with the static call measured slower for both).
                result = CallSimpleHelper(block, exit.Site, function);
            }
            else
            {
                // A local of its own for the out argument: an address-taken result would live on the stack on the fast
                // path too, a store and a load between the helper's result and the resume entry's argument.
                if (!CallOtherHelper(block, exit.Site, out ulong other))
                {
                    return other;
                }

                result = other;
            }

            exit = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong, CodeExit>)exit.Resume)(block, result);
        }

        return exit.Value;
    }

    /// <summary>
    /// A return of the code to the host at <paramref name="site"/> that <see cref="RunWithHelperReturns"/> does not
    /// handle itself: a yield (site -1: the result is r0 as it was), an rbpf-style helper called as a delegate, a tail
    /// call the host enters itself (see X64CompiledProgram.TailCalls.cs), or any other helper (<see cref="CallHelper"/>).
    /// Returns false when the run ended here, with <paramref name="result"/> its r0 (the tail call's target ended it, or
    /// a helper stopped it); otherwise <paramref name="result"/> is the helper's result, to resume with.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool CallOtherHelper(RunBlock* block, int site, out ulong result)
    {
        if (site < 0)
        {
            if (site == X64Compiler.TailCallExit)
            {
                return TailCallExit(block, out result);
            }

            result = block->HeldR0;
            return true;
        }

        if (simpleFunctions[site] is { } function)
        {
            result = CallSimpleHelper(block, site, function);
            return true;
        }

        if (sites[site].TailCalls is { } targets && TryTailCall(block, targets, out result))
        {
            return false;
        }

        result = CallHelper(block, site);
        return block->Status == (int)RunStatus.Completed;
    }

    /// <summary>
    /// Calls the rbpf-style <paramref name="function"/> of call site <paramref name="site"/> (a delegate) with r1-r5 from
    /// the block, with the rules of the static path of <see cref="RunWithHelperReturns"/>: no site table, no
    /// thirteen-argument invocation, no context.
    /// </summary>
    private ulong CallSimpleHelper(RunBlock* block, int site, HelperFunction function)
    {
        ulong result;
        try
        {
            result = function(block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5);
        }
        catch (Exception e) when (e is not EbpfRuntimeException)
        {
            throw SimpleHelperFailure(site, e);
        }

        if (Volatile.Read(ref block->State->CancelRequested) != 0)
        {
            throw CancelledAtSite(site, block->State);
        }

        return result;
    }

    /// <summary>The error of an rbpf-style helper that threw <paramref name="error"/> at call site <paramref name="site"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private EbpfHelperException SimpleHelperFailure(int site, Exception error) =>
        HelperFailure(Program, sites[site].Pc, sites[site].Helper!, error);

    /// <summary>The error of the run of <paramref name="state"/>, cancelled while the helper of call site
    /// <paramref name="site"/> ran.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private EbpfRunCancelledException CancelledAtSite(int site, RunState* state) => CancelledAt(Program, sites[site].Pc, ref *state);
}
