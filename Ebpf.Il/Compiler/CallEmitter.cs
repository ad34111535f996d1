using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Calls. A helper (<c>call imm</c>, resolved at compile time) or <c>callx</c> (looked up at run time) goes through
/// <see cref="Runtime.IlRuntime"/> to <see cref="Execution.CompiledProgram.InvokeHelper"/> with r1-r5; r0 takes the
/// result and the function ends at once when the helper asked the run to stop. A local call checks the depth, hands
/// r0-r9 and the callee's r10 (one frame lower) over in a <see cref="Runtime.CallFrame"/>, calls the callee's
/// dynamic method directly, and takes r0-r5 back; r6-r9 stay in this function's locals, so they are preserved.
/// </summary>
internal static class CallEmitter
{
    public static void Emit(FunctionCompiler f, int pc, DecodedInstruction insn)
    {
        switch (insn.Operation)
        {
            case Operation.CallLocal:
                LocalCall(f, pc);
                break;
            default:
                HelperCall(f, pc, insn, callx: insn.Operation == Operation.CallX);
                break;
        }
    }

    private static void HelperCall(FunctionCompiler f, int pc, DecodedInstruction insn, bool callx)
    {
        var il = f.Il;
        if (!callx && Helpers.InlineLookupSite.Find(f.Program, f.Owner.Environment, f.Owner.Helpers.Helpers[f.Owner.Helpers.SlotOf(pc)], pc, IlEngine.EngineName) is { } lookup)
        {
            LookupEmitter.Emit(f, pc, lookup);
            return;
        }

        if (!callx && Helpers.InlineLookupSite.FindDirect(f.Program, f.Owner.Environment, f.Owner.Helpers.Helpers[f.Owner.Helpers.SlotOf(pc)], pc, IlEngine.EngineName) is { } direct)
        {
            DirectLookupCall(f, pc, direct);
            return;
        }

        if (!callx && f.Owner.Helpers.Helpers[f.Owner.Helpers.SlotOf(pc)].Simple is not null)
        {
            SimpleHelperCall(f, pc);
            f.Owner.CallsHelpersDirectly = true;
            return;
        }

        // A helper that may call back (bpf_loop...; any helper behind callx) runs callbacks on the budget: hand it over.
        bool callsBack = callx || f.Owner.Helpers.Helpers[f.Owner.Helpers.SlotOf(pc)].CallsBack;
        if (callsBack)
        {
            f.SaveBudget();
        }

        il.Ldarg(FunctionCompiler.ArgClosure);
        if (callx)
        {
            f.Load(insn.Dst);
        }
        else
        {
            il.LdcI4(f.Owner.Helpers.SlotOf(pc));
        }

        il.Ldarg(FunctionCompiler.ArgState);
        il.LdcI4(pc);
        f.PushStackLow();
        for (int r = 1; r <= 5; r++)
        {
            f.Load(r);
        }

        il.Call(callx ? RuntimeMembers.CallX : RuntimeMembers.CallHelper);
        f.Store(0);
        if (callsBack)
        {
            f.LoadBudget();
        }

        if (f.Owner.Helpers.MayStop(f.Program, pc))
        {
            f.EmitStopCheck();
        }
    }

    /// <summary>
    /// An rbpf-style helper, called directly: by name when its delegate names one method the code may call itself
    /// (<see cref="Helpers.HelperMethods.CallableByName"/>: a static method, or an instance method with the delegate's
    /// target as <c>this</c>, so that the runtime compiles the call as a call in C#, inlining a small helper), else
    /// through its delegate. The pc goes to <see cref="Execution.RunState.HelperPc"/> for the length of the call (an
    /// exception it throws becomes the helper error where the run ends, see <see cref="IlCompiledProgram"/>), and a run
    /// cancelled during the call stops when it returns. Such a helper cannot stop the run.
    /// </summary>
    private static void SimpleHelperCall(FunctionCompiler f, int pc)
    {
        var il = f.Il;
        int slot = f.Owner.Helpers.SlotOf(pc);
        var byName = Helpers.HelperMethods.CallableByName(f.Owner.Helpers.Helpers[slot].Simple!, 5);
        il.Ldarg(FunctionCompiler.ArgState);
        il.LdcI4(pc + 1);
        il.Stfld(RuntimeMembers.StateHelperPc);
        if (byName is not { IsStatic: true })
        {
            // The delegate, or the target the instance method gets as this.
            il.Ldarg(FunctionCompiler.ArgClosure);
            il.Ldfld(byName is null ? RuntimeMembers.ClosureSimpleHelpers : RuntimeMembers.ClosureHelperTargets);
            il.LdcI4(slot);
            il.LdelemRef();
        }

        for (int r = 1; r <= 5; r++)
        {
            f.Load(r);
        }

        if (byName is null)
        {
            il.Callvirt(RuntimeMembers.SimpleHelperInvoke);
        }
        else
        {
            il.Call(byName);
        }

        f.Store(0);
        il.Ldarg(FunctionCompiler.ArgState);
        il.LdcI4(0);
        il.Stfld(RuntimeMembers.StateHelperPc);
        f.EmitCancelPoll(pc);
    }

    /// <summary>
    /// A lookup helper call whose map's lookup is called directly (see <see cref="Helpers.DirectLookup"/>): r0 = the
    /// helper's result for the key at r2. A hash map that gives its layout is walked in the code (see
    /// <see cref="EmitHashWalk"/>); where the walk's protocol says so, and for every other map, the map's lookup is
    /// called through <see cref="Runtime.IlRuntime.DirectLookup"/> (the key checked as the helper checks it). Such a call
    /// cannot stop the run: no stop check.
    /// </summary>
    private static void DirectLookupCall(FunctionCompiler f, int pc, Helpers.DirectLookup lookup)
    {
        var il = f.Il;
        int index = f.Owner.AddDirectLookup(lookup);
        var done = il.DefineLabel("LOOKUP_DONE");
        if (lookup.Layout is { KeySize: 4 or 8, SlotStride: > 0, Capacity: > 0 } layout)
        {
            EmitHashWalk(f, pc, layout);
            il.Dup();
            il.LdcU8(Helpers.HashLookupLayout.WalkFallback);
            il.BneUn(done);
            il.Pop();
        }

        il.Ldarg(FunctionCompiler.ArgClosure);
        il.LdcI4(index);
        il.Ldarg(FunctionCompiler.ArgState);
        il.LdcI4(pc);
        f.PushStackLow();
        f.Load(2);
        il.Call(RuntimeMembers.DirectLookup);
        il.MarkLabel(done);
        f.Store(0);
    }

    /// <summary>
    /// Pushes the result of the hash map's walk in the code (<see cref="Helpers.HashLookupLayout.Walk"/>, the layout's
    /// addresses and sizes as constants, which the runtime folds into the walk it inlines) for the key at r2, after the
    /// helper's check of the key's bytes: left out for a key in the current frame, which cannot fail it
    /// (<see cref="Analysis.AnalysisResults.IsOwnFrameArgument"/>).
    /// </summary>
    private static void EmitHashWalk(FunctionCompiler f, int pc, Helpers.HashLookupLayout layout)
    {
        var il = f.Il;
        if (f.Options.HelperArgumentChecks && !f.Program.Analysis.IsOwnFrameArgument(pc, 2, layout.KeySize, f.Options.StackSize))
        {
            LookupEmitter.PushKeyArguments(f, pc);
            il.LdcI4(layout.KeySize);
            il.Call(RuntimeMembers.CheckLookupKey);
        }

        f.Load(2);
        il.LdcI4(layout.KeySize);
        il.LdcU8(layout.Seed);
        PushAddress(il, layout.Buckets);
        il.LdcI4(unchecked((int)layout.BucketMask));
        PushAddress(il, layout.Next);
        PushAddress(il, layout.Hashes);
        PushAddress(il, layout.Keys);
        il.LdcI4(layout.Capacity);
        PushAddress(il, layout.Sequence);
        PushAddress(il, layout.LiveEntries);
        PushAddress(il, layout.Values);
        il.LdcI8(layout.SlotStride);
        PushAddress(il, layout.Newest);
        il.Call(RuntimeMembers.HashWalk);
    }

    /// <summary>Pushes <paramref name="address"/> as a native integer.</summary>
    private static void PushAddress(Emit.IlEmitter il, nint address)
    {
        il.LdcI8(address);
        il.ConvI();
    }

    private static void LocalCall(FunctionCompiler f, int pc)
    {
        var il = f.Il;
        var frame = f.CallFrameLocal;
        var tooDeep = f.AddStub("CALLDEPTH", () =>
        {
            il.Ldarg(FunctionCompiler.ArgClosure);
            il.LdcI4(pc);
            il.Call(RuntimeMembers.CallDepthExceeded);
            il.Throw();
        });
        il.Ldarg(FunctionCompiler.ArgDepth);
        il.LdcI4(f.Options.MaxCallDepth);
        il.Bge(tooDeep);
        for (int r = 0; r <= 9; r++)
        {
            il.Ldloca(frame);
            f.Load(r);
            il.Stfld(RuntimeMembers.FrameRegisters[r]);
        }

        il.Ldloca(frame);
        f.Load(10);
        il.LdcI8(f.Options.StackSize);
        il.Sub();
        il.Stfld(RuntimeMembers.FrameRegisters[10]);
        f.SaveBudget();
        il.Ldarg(FunctionCompiler.ArgClosure);
        il.Ldarg(FunctionCompiler.ArgState);
        il.Ldloca(frame);
        il.ConvU();
        il.Ldarg(FunctionCompiler.ArgDepth);
        il.LdcI4(1);
        il.Add();
        il.Call(f.Owner.Method(f.Program.CallTargetFunction(pc)));
        f.Store(0);
        for (int r = 1; r <= 5; r++)
        {
            il.Ldloca(frame);
            il.Ldfld(RuntimeMembers.FrameRegisters[r]);
            f.Store(r);
        }

        f.LoadBudget();
        if (f.Owner.Helpers.AnyMayStop)
        {
            f.EmitStopCheck();
        }
    }
}
