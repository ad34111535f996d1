using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Threading;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Compiler;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// The helper loop of one compiled program: like <see cref="X64CompiledProgram.ContinueWithHelpers"/>, from a run whose
/// code left for the host at <c>exit</c> to its end, returning r0.
/// </summary>
internal unsafe delegate ulong ProgramHelperLoop(X64CompiledProgram program, RunBlock* block, CodeExit exit);

/// <summary>When an x64 program gets its own helper loop (see <c>X64CompiledProgram.helperLoop</c>).</summary>
internal enum HelperLoopTiming
{
    /// <summary>Never: every run uses the common loop.</summary>
    Never,

    /// <summary>After <see cref="X64CompiledProgram.HotRuns"/> runs that left the code for a helper, built in the background.</summary>
    WhenHot,

    /// <summary>At compile time.</summary>
    AtCompile,
}

/// <summary>The program's own helper loop, which calls its rbpf-style helpers by name and its context helpers without the common loop's dispatch (see <see cref="helperLoop"/>).</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// The most exits a program's own helper loop tells apart (a compare each before the call: helper methods called by
    /// name, call sites of helpers with a context, see <see cref="LoopCalls"/>); any other exit hands the run to
    /// <see cref="ContinueWithHelpers"/>.
    /// </summary>
    internal const int MaxLoopHelpers = 8;

    /// <summary>
    /// The program's own helper loop, or null: built when dynamic code is compiled here and the code leaves for
    /// rbpf-style helpers with their entry points (<see cref="HelperSite.Entry"/>: static methods, lambdas and other
    /// instance methods, see <see cref="HelperEntry"/>) or for helpers that take a context (by name too when
    /// <see cref="ContextMethod"/> allows, with <see cref="CallHelper"/>'s context and rules; else as it calls them, without
    /// the common loop's tests and calls on the way); by default once the program is hot (<see cref="HotRuns"/> runs
    /// that left the code for a helper, in the background: the JIT compiles such a loop in ~0.3 ms, which a program run a
    /// few times should not pay), at compile time with the AppContext switch <see cref="AtCompileSwitch"/>. It does what
    /// <see cref="ContinueWithHelpers"/> does for those exits, with one difference: it names each helper's method in a
    /// direct call instead of calling its entry point through a pointer, so the runtime compiles the call as it compiles
    /// a call in C#: a small helper is inlined (as the IL engine's calls are), a larger one is called directly. Any other
    /// exit (a helper called as a delegate, a map lookup, a site with tail calls, a yield) hands the rest of the run to
    /// <see cref="ContinueWithHelpers"/>. The same rules as there: an exception other than an
    /// <see cref="EbpfRuntimeException"/> becomes the helper's <see cref="EbpfHelperException"/> at the site the code wrote
    /// to the block, a run cancelled during a call stops when it returns. Under NativeAOT (no dynamic code) every run uses
    /// <see cref="ContinueWithHelpers"/>.
    /// </summary>
    private ProgramHelperLoop? helperLoop;

    /// <summary>
    /// Runs that leave the code for a helper before the program's own loop is built (see <see cref="helperLoop"/>), counted
    /// down in <see cref="helperLoopRuns"/>.
    /// </summary>
    internal const int HotRuns = 100;

    /// <summary>
    /// The AppContext switch that builds the own helper loop at compile time instead of once the program is hot (the
    /// tests set it, so that every program they compile runs it from its first run).
    /// </summary>
    internal const string AtCompileSwitch = "Ebpf.X64.OwnHelperLoopAtCompile";

    /// <summary>The runs left before the own loop is built when hot; 0 when it is built already, is building or is not to be.</summary>
    private int helperLoopRuns;

    /// <summary>The exits the own loop is to handle (see <see cref="LoopCalls"/>) while it waits for the program to get hot; null after.</summary>
    private List<LoopCall>? hotLoopCalls;

    /// <summary>The build of the own loop once the program got hot, or null before (or without one); for tests.</summary>
    internal Task? HelperLoopBuild { get; private set; }

    /// <summary>True when the program's runs use a helper loop of their own (see <see cref="helperLoop"/>); for tests.</summary>
    internal bool HasOwnHelperLoop => Volatile.Read(ref helperLoop) is not null;

    /// <summary>The default timing: <see cref="HelperLoopTiming.AtCompile"/> with the switch <see cref="AtCompileSwitch"/> set, else when hot.</summary>
    internal static HelperLoopTiming DefaultHelperLoopTiming =>
        AppContext.TryGetSwitch(AtCompileSwitch, out bool atCompile) && atCompile ? HelperLoopTiming.AtCompile : HelperLoopTiming.WhenHot;

    /// <summary>Sets the own loop up as <paramref name="timing"/> says, at the end of the compilation.</summary>
    private void PlanHelperLoop(HelperLoopTiming timing)
    {
        var calls = timing == HelperLoopTiming.Never ? null : LoopCalls(sites);
        if (timing == HelperLoopTiming.AtCompile)
        {
            helperLoop = BuildHelperLoop(this, calls, helperTargets);
        }
        else if (calls is not null)
        {
            hotLoopCalls = calls;
            helperLoopRuns = HotRuns;
        }
    }

    /// <summary>The helper loop for the rest of a run whose code left for the host at <paramref name="exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ContinueRun(RunBlock* block, CodeExit exit)
    {
        if (helperLoop is { } loop)
        {
            return loop(this, block, exit);
        }

        if (helperLoopRuns > 0)
        {
            CountHotRun();
        }

        return ContinueWithHelpers(block, exit);
    }

    /// <summary>Counts a run towards <see cref="HotRuns"/>; the run that reaches it starts the build in the background.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CountHotRun()
    {
        if (Interlocked.Decrement(ref helperLoopRuns) == 0)
        {
            var calls = hotLoopCalls;
            hotLoopCalls = null;
            HelperLoopBuild = Task.Run(() =>
            {
                if (BuildHelperLoop(this, calls, helperTargets) is { } loop)
                {
                    Volatile.Write(ref helperLoop, loop);
                }
            });
        }
    }

    /// <summary>Resumes the code at <paramref name="resume"/> with a helper's <paramref name="result"/>; for the program's own helper loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static CodeExit ResumeCode(RunBlock* block, nint resume, ulong result) =>
        ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong, CodeExit>)resume)(block, result);

    /// <summary>True when the run of <paramref name="block"/> has been asked to stop; for the program's own helper loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool CancelRequestedIn(RunBlock* block) => Volatile.Read(ref block->State->CancelRequested) != 0;

    /// <summary>The cancellation of the run of <paramref name="block"/>, noticed after the helper call at its site.</summary>
    internal EbpfRunCancelledException CancelledIn(RunBlock* block) => CancelledAtSite(block->ExitSite, block->State);

    /// <summary>
    /// One exit the own loop handles itself (see <see cref="helperLoop"/>): the exit's value (<see cref="CodeExit.Value"/>)
    /// and either the helper method it calls by name (<paramref name="Method"/>, for an entry point) or, for a helper that
    /// takes a context, the site whose helper it calls as <see cref="CallHelper"/> does (<paramref name="Site"/>).
    /// </summary>
    private readonly record struct LoopCall(ulong Exit, MethodInfo? Method, int Site);

    /// <summary>
    /// The method of a helper that takes a context when the own loop may call it by name with a context it makes
    /// (<see cref="ContextAt"/>): one static method, or one non-virtual instance method of a non-generic class with its
    /// target, with the six parameters of <see cref="ContextHelperFunction"/>; not a helper that calls back (its budget
    /// hand-over is <see cref="CallHelper"/>'s), not one of a collectible assembly; null otherwise (called as
    /// <see cref="CallHelper"/> calls it).
    /// </summary>
    private static MethodInfo? ContextMethod(Helper helper) =>
        helper.CallsBack || helper.Simple is not null ? null : HelperMethods.CallableByName(helper.Function, 6);

    /// <summary>The context of a call of the helper at <paramref name="site"/>, as <see cref="CallHelper"/> makes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal HelperContext ContextAt(RunBlock* block, int site) =>
        new(block->State, Program, Environment, sites[site].Pc, block->CallFrame - (ulong)Options.StackSize, Options.HelperArgumentChecks, null, Options.EntryContext);

    /// <summary>
    /// After a call by name of the helper with a context at the site of <paramref name="exit"/>: the run's cancellation
    /// (thrown) and its stop (true, with <paramref name="result"/> the stop value and the block's status
    /// <see cref="RunStatus.Stopped"/>), as <see cref="CallHelper"/> checks them. The stop's lines repeat
    /// <see cref="CallHelper"/>'s on purpose: sharing them (a method returning the stop value or the result, then the
    /// loop's test of the block's status, as after <see cref="CallHelper"/>) measured 0.3-0.9 ns more per call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool ContextCallEnded(RunBlock* block, ulong exit, ref ulong result)
    {
        RunState* state = block->State;
        if (Volatile.Read(ref state->CancelRequested) != 0)
        {
            throw CancelledAtSite((int)(uint)exit, state);
        }

        if (state->StopRequested != 0)
        {
            block->Status = (int)RunStatus.Stopped;
            result = state->StopValue;
            return true;
        }

        return false;
    }

    /// <summary>
    /// The error of a helper the own loop called that threw <paramref name="error"/>: at the site the code wrote to the
    /// block for an entry point, at the exit's site for a helper with a context.
    /// </summary>
    internal EbpfHelperException LoopHelperFailure(RunBlock* block, ulong exit, Exception error) =>
        SimpleHelperFailure((long)exit > 0 || (exit & CodeExit.InstanceFlag) != 0 ? block->ExitSite : (int)(uint)exit, error);

    /// <summary>
    /// The exits the own loop handles (see <see cref="helperLoop"/>), at most <see cref="MaxLoopHelpers"/>: one per
    /// entry point of an rbpf-style helper (a static or instance method, called by name), and one per call site of a
    /// helper that takes a context (not a map lookup called directly, not a site with tail calls, not <c>callx</c>);
    /// null when there are none or dynamic code is not compiled here. Helpers of collectible assemblies are left to the
    /// common loop (code that names them would tie their unloading to the program's).
    /// </summary>
    private static List<LoopCall>? LoopCalls(HelperSite[] sites)
    {
        if (!RuntimeFeature.IsDynamicCodeSupported || !RuntimeFeature.IsDynamicCodeCompiled)
        {
            return null;
        }

        var calls = new List<LoopCall>();
        for (int index = 0; index < sites.Length && calls.Count < MaxLoopHelpers; index++)
        {
            var site = sites[index];
            if (site.Entry != 0 && site.Helper?.Simple is { } function
                && HelperMethods.CallableByName(function, 5) is { } method
                && !calls.Exists(known => known.Exit == (ulong)site.Entry))
            {
                calls.Add(new((ulong)site.Entry, method, -1));
            }
            else if (site.Entry == 0 && site.Helper is { Simple: null } helper && site.Lookup is null && site.TailCalls is null)
            {
                calls.Add(new(CodeExit.SiteFlag | (uint)index, ContextMethod(helper), index));
            }
        }

        return calls.Count == 0 ? null : calls;
    }

    /// <summary>
    /// Builds the own helper loop of <paramref name="program"/> for <paramref name="entries"/> (see
    /// <see cref="helperLoop"/>), or returns null without entries. <paramref name="targets"/> are the instance entries'
    /// targets by site (<see cref="helperTargets"/>), which the loop reads by the site the code wrote to the block, as
    /// <see cref="ContinueWithHelpers"/> does. The loop is compiled here, by a call with an exit that ended the run (no
    /// helper is called, nothing is resumed), so that no run pays for it and a loop the runtime refuses to compile leaves
    /// the program on the common loop instead of failing a run.
    /// </summary>
    private static ProgramHelperLoop? BuildHelperLoop(X64CompiledProgram program, List<LoopCall>? entries, object?[] targets)
    {
        if (entries is null)
        {
            return null;
        }

        // The targets of instance methods the loop calls by name, by site: the entry points' and the context helpers'.
        targets = (object?[])targets.Clone();
        foreach (var call in entries)
        {
            if (call.Site >= 0 && call.Method is { IsStatic: false })
            {
                targets[call.Site] = program.sites[call.Site].Helper!.Function.Target;
            }
        }

        try
        {
            var loop = EmitHelperLoop(entries, targets);
            RunBlock ended = default;
            _ = loop(program, &ended, default);
            return loop;
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or MemberAccessException or TypeLoadException or BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>Emits the loop of <see cref="BuildHelperLoop"/> for the helper methods <paramref name="entries"/>.</summary>
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Called only when RuntimeFeature.IsDynamicCodeSupported.")]
    private static ProgramHelperLoop EmitHelperLoop(List<LoopCall> entries, object?[] targets)
    {
        // ulong Loop(object?[] targets, X64CompiledProgram program, RunBlock* block, CodeExit exit), bound to targets.
        var method = new DynamicMethod(
            "ebpf_x64_helper_loop",
            typeof(ulong),
            [typeof(object[]), typeof(X64CompiledProgram), typeof(RunBlock*), typeof(CodeExit)],
            typeof(X64CompiledProgram),
            skipVisibility: true);
        var il = method.GetILGenerator();
        static MethodInfo Member(string name) => typeof(X64CompiledProgram).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)!;
        static FieldInfo BlockField(string name) => typeof(RunBlock).GetField(name)!;
        var result = il.DeclareLocal(typeof(ulong));
        var value = typeof(CodeExit).GetField(nameof(CodeExit.Value))!;
        var resume = typeof(CodeExit).GetField(nameof(CodeExit.Resume))!;
        FieldInfo[] args =
        [
            BlockField(nameof(RunBlock.Arg1)), BlockField(nameof(RunBlock.Arg2)),
            BlockField(nameof(RunBlock.Arg3)), BlockField(nameof(RunBlock.Arg4)),
            BlockField(nameof(RunBlock.Arg5)),
        ];

        var called = il.DefineLabel();
        var other = il.DefineLabel();
        var cancelled = il.DefineLabel();
        var done = il.DefineLabel();

        // The caller passes an exit that left for the host. Only the call is in the try: a call to the code inside one
        // would not be compiled inline (the runtime makes it a P/Invoke with a transition).
        var top = il.DefineLabel();
        il.BeginExceptionBlock();
        il.MarkLabel(top);
        var contextCalled = il.DefineLabel();
        var contextByName = il.DefineLabel();
        foreach (var (exit, helper, site) in entries)
        {
            var next = il.DefineLabel();
            il.Emit(OpCodes.Ldarga_S, (byte)3);
            il.Emit(OpCodes.Ldfld, value);
            il.Emit(OpCodes.Ldc_I8, (long)exit);
            il.Emit(OpCodes.Bne_Un, next);
            Label after;
            if (helper is null)
            {
                // A helper with a context, as the common loop calls it (its own error and cancellation rules).
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Ldc_I4, site);
                il.Emit(OpCodes.Call, Member(nameof(CallHelper)));
                after = contextCalled;
            }
            else
            {
                // A method by name: an instance method's target as this, by the site (a context helper's, whose site is
                // the exit's; an entry point's, which the code wrote to the block); a context helper's context, as
                // CallHelper would make it; then r1-r5.
                if (!helper.IsStatic)
                {
                    il.Emit(OpCodes.Ldarg_0);
                    if (site >= 0)
                    {
                        il.Emit(OpCodes.Ldc_I4, site);
                    }
                    else
                    {
                        il.Emit(OpCodes.Ldarg_2);
                        il.Emit(OpCodes.Ldfld, BlockField(nameof(RunBlock.ExitSite)));
                    }

                    il.Emit(OpCodes.Ldelem_Ref);
                }

                if (site >= 0)
                {
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldarg_2);
                    il.Emit(OpCodes.Ldc_I4, site);
                    il.Emit(OpCodes.Call, Member(nameof(ContextAt)));
                }

                foreach (var arg in args)
                {
                    il.Emit(OpCodes.Ldarg_2);
                    il.Emit(OpCodes.Ldfld, arg);
                }

                il.Emit(OpCodes.Call, helper);
                after = site >= 0 ? contextByName : called;
            }

            il.Emit(OpCodes.Stloc, result);
            il.Emit(OpCodes.Leave, after);
            il.MarkLabel(next);
        }

        il.Emit(OpCodes.Leave, other);

        // An exception of a helper other than the project's own becomes the helper's failure at its site.
        il.BeginExceptFilterBlock();
        il.Emit(OpCodes.Isinst, typeof(EbpfRuntimeException));
        il.Emit(OpCodes.Ldnull);
        il.Emit(OpCodes.Ceq);
        il.BeginCatchBlock(null!);
        var error = il.DeclareLocal(typeof(Exception));
        il.Emit(OpCodes.Castclass, typeof(Exception));
        il.Emit(OpCodes.Stloc, error);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarga_S, (byte)3);
        il.Emit(OpCodes.Ldfld, value);
        il.Emit(OpCodes.Ldloc, error);
        il.Emit(OpCodes.Call, Member(nameof(LoopHelperFailure)));
        il.Emit(OpCodes.Throw);
        il.EndExceptionBlock();

        // After a helper with a context: the run ends with the stop value when the helper stopped it (the helper call
        // checked for a cancellation already).
        var resumeCode = il.DefineLabel();
        il.MarkLabel(contextCalled);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldfld, BlockField(nameof(RunBlock.Status)));
        il.Emit(OpCodes.Brfalse, resumeCode);
        il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Ret);

        // After a helper with a context called by name: its cancellation and stop, as CallHelper checks them.
        il.MarkLabel(contextByName);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarga_S, (byte)3);
        il.Emit(OpCodes.Ldfld, value);
        il.Emit(OpCodes.Ldloca, result);
        il.Emit(OpCodes.Call, Member(nameof(ContextCallEnded)));
        il.Emit(OpCodes.Brfalse, resumeCode);
        il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Ret);

        // After a call by name: stop if cancelled, else resume the code; again from the top while it leaves for the host.
        il.MarkLabel(called);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Call, Member(nameof(CancelRequestedIn)));
        il.Emit(OpCodes.Brtrue, cancelled);
        il.MarkLabel(resumeCode);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarga_S, (byte)3);
        il.Emit(OpCodes.Ldfld, resume);
        il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Call, Member(nameof(ResumeCode)));
        il.Emit(OpCodes.Starg_S, (byte)3);
        il.Emit(OpCodes.Ldarga_S, (byte)3);
        il.Emit(OpCodes.Ldfld, resume);
        il.Emit(OpCodes.Brtrue, top);
        il.Emit(OpCodes.Br, done);

        // Cancelled after a call: the site's cancellation.
        il.MarkLabel(cancelled);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Call, Member(nameof(CancelledIn)));
        il.Emit(OpCodes.Throw);

        // Any other exit: the common loop runs the rest.
        il.MarkLabel(other);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarg_3);
        il.Emit(OpCodes.Call, Member(nameof(ContinueWithHelpers)));
        il.Emit(OpCodes.Ret);

        il.MarkLabel(done);
        il.Emit(OpCodes.Ldarga_S, (byte)3);
        il.Emit(OpCodes.Ldfld, value);
        il.Emit(OpCodes.Ret);

        return (ProgramHelperLoop)method.CreateDelegate(typeof(ProgramHelperLoop), targets);
    }
}
