using Ebpf.Isa;
using Ebpf.X64.Runtime;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>JMP and JMP32: jumps, local calls (native calls with a new frame), helper calls, exit.</summary>
internal sealed partial class X64Compiler
{
    private void EmitJump(int pc, DecodedInstruction insn)
    {
        switch (insn.Operation)
        {
            case Operation.Ja:
            case Operation.Ja32:
                EmitPollBeforeBackwardJump(pc, insn);
                a.jmp(JumpTarget(pc, insn.Target));
                return;
            case Operation.Exit when directBody:
                // The direct body's exit returns r0 and no fault (see EmitDirectEntry).
                EmitDirectExit();
                return;
            case Operation.Exit when helpersReturn && program.FunctionIndexOf(pc) == 0:
                // Entered by a jump (see EmitEntry): the exit is the epilogue itself, with no resume entry (CodeExit). A
                // local function's exit is a return (the entry function is never called, see HelperReturnAnalysis).
                EmitEndOfRun();
                abi.EmitEpilogue(a, written, callsOut);
                return;
            case Operation.Exit when IsNested(pc):
                EmitNestedReturn();
                return;
            case Operation.Exit:
                a.ret();
                return;
            case Operation.CallLocal:
                EmitLocalCall(pc, insn);
                return;
            case Operation.CallHelper when InlineLookupAt(pc, helpers.Helpers[helpers.SlotOf(pc)]) is { } lookup:
                EmitInlineLookup(pc, lookup);
                return;
            case Operation.CallHelper when HashLookupAt(pc, helpers.Helpers[helpers.SlotOf(pc)]) is { } layout:
                EmitHashLookup(pc, helpers.Helpers[helpers.SlotOf(pc)], layout);
                return;
            case Operation.CallHelper:
                EmitHelperCall(pc, helpers.Helpers[helpers.SlotOf(pc)], callxRegister: -1);
                return;
            case Operation.CallX:
                EmitHelperCall(pc, null, insn.Dst);
                return;
        }

        EmitPollBeforeBackwardJump(pc, insn);
        EmitConditionalJumpAt(pc, insn, JumpTarget(pc, insn.Target));
    }

    /// <summary>The conditional jump <paramref name="insn"/> at <paramref name="pc"/> to <paramref name="target"/>.</summary>
    private void EmitConditionalJumpAt(int pc, DecodedInstruction insn, Label target)
    {
        var (d, src) = ComparedRegisters(pc, insn);
        EmitConditionalJump(insn, d, src, target);
    }

    /// <summary>The registers the conditional jump <paramref name="insn"/> at <paramref name="pc"/> compares: its own, or
    /// the source of a copy left out (see <see cref="EmitCompareCopy"/>).</summary>
    private (int D, int Src) ComparedRegisters(int pc, DecodedInstruction insn)
    {
        int d = insn.Dst;
        int src = insn.Src;
        if (renamedCompares.Remove(pc, out var renamed))
        {
            // The copy the jump compares was left out (see EmitCompareCopy): compare its source.
            d = d == renamed.Copy ? renamed.Source : d;
            src = src == renamed.Copy ? renamed.Source : src;
        }

        return (d, src);
    }

    /// <summary>Before a backward jump: the yield count when the code yields to the host (see
    /// <see cref="EmitYieldCount"/>); nothing in code whose helper calls return to the host and which does not yield;
    /// else the cancellation poll.</summary>
    /// <remarks>
    /// Code whose helper calls return to the host and which does not yield has a helper call that leaves for the host on
    /// every cycle of its control-flow graph (that is what <see cref="HelperReturnAnalysis"/> found), and the host
    /// checks the cancellation flag after every call it resumes the code from (see
    /// <c>X64CompiledProgram.RunWithHelperReturns</c>): an endless loop stops at its next call, so a poll at its
    /// backward jump (two dependent loads) adds nothing.
    /// </remarks>
    private void EmitPollBeforeBackwardJump(int pc, DecodedInstruction insn)
    {
        if (directBody)
        {
            EmitDirectStep(pc, insn);
        }
        else if (yieldInterval > 0)
        {
            EmitYieldCount(pc, insn);
        }
        else if (!helpersReturn)
        {
            EmitCancelPollBeforeBackwardJump(pc, insn);
        }
    }

    /// <summary>
    /// Before a backward jump (every endless loop passes one): reads <see cref="Execution.RunState.CancelRequested"/>
    /// through the run block and leaves with <see cref="RunStatus.Cancelled"/> when it is set. Placed before the
    /// jump's own compare, since it changes the flags.
    /// </summary>
    private void EmitCancelPollBeforeBackwardJump(int pc, DecodedInstruction insn)
    {
        if (insn.Target > pc)
        {
            return;
        }

        var stop = a.CreateLabel();
        EmitPollCancel(stop);
        cold.Add(() =>
        {
            Bind(ref stop);
            EmitCancelledAt(pc);
        });
    }

    /// <summary>Jumps to <paramref name="stop"/> when the run's cancellation flag is set (changes r11 and the flags).</summary>
    private void EmitPollCancel(Label stop)
    {
        a.mov(r11, Block(RunBlock.StateOffset));
        a.cmp(__dword_ptr[r11 + CancelRequestedOffset], 0);
        a.jne(stop);
    }

    /// <summary>Ends the run as cancelled at <paramref name="pc"/>.</summary>
    private void EmitCancelledAt(int pc)
    {
        a.mov(BlockDword(RunBlock.ErrorInfoOffset), pc);
        a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.Cancelled);
        a.jmp(exitStub);
    }

    /// <summary>The jump <paramref name="insn"/> (unconditional, or conditional on its own registers) to <paramref name="target"/>.</summary>
    private void EmitConditionalJumpOrJa(DecodedInstruction insn, Label target)
    {
        if (insn.IsConditionalJump)
        {
            EmitConditionalJump(insn, insn.Dst, insn.Src, target);
        }
        else
        {
            a.jmp(target);
        }
    }

    /// <summary>The conditional jump <paramref name="insn"/> comparing registers <paramref name="d"/> and <paramref name="src"/> (its own, or others that hold the same values).</summary>
    private void EmitConditionalJump(DecodedInstruction insn, int d, int src, Label target)
    {
        EmitCompare(insn, d, src);
        EmitJumpOnFlags(insn.Operation, target, inverted: false);
    }

    /// <summary>
    /// After <see cref="EmitCompare"/>, the x86 jump to <paramref name="target"/> taken when the condition of
    /// <paramref name="operation"/> holds, or (<paramref name="inverted"/>) when it does not.
    /// </summary>
    private void EmitJumpOnFlags(Operation operation, Label target, bool inverted)
    {
        switch (operation)
        {
            case Operation.Jeq: if (inverted) a.jne(target); else a.je(target); break;
            case Operation.Jne or Operation.Jset: if (inverted) a.je(target); else a.jne(target); break;
            case Operation.Jgt: if (inverted) a.jbe(target); else a.ja(target); break;
            case Operation.Jge: if (inverted) a.jb(target); else a.jae(target); break;
            case Operation.Jlt: if (inverted) a.jae(target); else a.jb(target); break;
            case Operation.Jle: if (inverted) a.ja(target); else a.jbe(target); break;
            case Operation.Jsgt: if (inverted) a.jle(target); else a.jg(target); break;
            case Operation.Jsge: if (inverted) a.jl(target); else a.jge(target); break;
            case Operation.Jslt: if (inverted) a.jge(target); else a.jl(target); break;
            default: if (inverted) a.jg(target); else a.jle(target); break;
        }
    }

    /// <summary>The flags the conditional jump <paramref name="insn"/> decides on, comparing <paramref name="d"/> and <paramref name="src"/> (<c>cmp</c>, or <c>test</c> for jset and a compare with 0).</summary>
    private void EmitCompare(DecodedInstruction insn, int d, int src)
    {
        bool is64 = insn.Is64;
        bool reg = insn.HasRegisterSource;
        var op = insn.Operation;
        if (op == Operation.Jset)
        {
            if (is64) { if (reg) a.test(R64(d), R64(src)); else a.test(R64(d), insn.Imm); }
            else { if (reg) a.test(R32(d), R32(src)); else a.test(R32(d), insn.Imm); }
        }
        else if (!reg && insn.Imm == 0 && op is Operation.Jeq or Operation.Jne)
        {
            if (is64) a.test(R64(d), R64(d)); else a.test(R32(d), R32(d));
        }
        else
        {
            if (is64) { if (reg) a.cmp(R64(d), R64(src)); else a.cmp(R64(d), insn.Imm); }
            else { if (reg) a.cmp(R32(d), R32(src)); else a.cmp(R32(d), insn.Imm); }
        }
    }

    /// <summary>
    /// A local call: check the depth (r10 must leave room for one more frame), save r6-r9 and r10 (five pushes plus the
    /// return address keep the stack 16-byte aligned), move r10 down one frame, call, restore. In code whose helper
    /// calls return to the host the call is counted first (see <see cref="EmitCallCount"/>), and it saves only the
    /// named ones of r6-r9 (see <see cref="FrameRegisters"/>).
    /// </summary>
    private void EmitLocalCall(int pc, DecodedInstruction insn)
    {
        EmitCallCount(pc);
        var fail = a.CreateLabel();
        a.cmp(R64(10), Block(RunBlock.CallLimitOffset));
        a.jb(fail);
        var pushed = FrameRegisters;
        foreach (int r in pushed)
        {
            a.push(R64(r));
        }

        a.sub(R64(10), stackSize);
        a.call(labels[insn.Target]);
        for (int i = pushed.Length - 1; i >= 0; i--)
        {
            a.pop(R64(pushed[i]));
        }

        cold.Add(() =>
        {
            Bind(ref fail);
            a.mov(BlockDword(RunBlock.ErrorInfoOffset), pc);
            a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.CallDepthExceeded);
            a.jmp(exitStub);
        });
    }

    /// <summary>
    /// Before a local call in code with local calls whose helper calls return to the host (<see cref="callInterval"/>):
    /// counts the call down in the block and, when the count runs out, polls the cancellation flag and leaves for the host
    /// without a call (a yield, as <see cref="EmitYieldCount"/>'s), so that a tree of local calls without a helper call
    /// or a loop returns to the host at least every <see cref="callInterval"/> calls; the host resumes at once with r0 as
    /// it was. The count starts at the entry (see <see cref="EmitEntry"/>) and again after such a yield; a resume entry
    /// from a helper call leaves it as it is, which only makes the yields come sooner, and spares every helper call a store.
    /// </summary>
    private void EmitCallCount(int pc)
    {
        if (callInterval == 0)
        {
            return;
        }

        var leave = a.CreateLabel();
        var back = a.CreateLabel();
        a.sub(BlockDword(RunBlock.CallCountOffset), 1);
        a.je(leave);
        Bind(ref back);
        cold.Add(() =>
        {
            var stop = a.CreateLabel();
            Bind(ref leave);
            EmitPollCancel(stop);
            EmitYieldLeave(pc);
            a.mov(BlockDword(RunBlock.CallCountOffset), (int)callInterval);
            a.jmp(back);

            Bind(ref stop);
            EmitCancelledAt(pc);
        });
    }

    /// <summary>A yield at <paramref name="pc"/>: r0 to the block's held r0, the passed ones of r1-r5 and the named ones
    /// of r6-r9 to the block, the leave for the host (site -1) and, after the resume entry, the reloads.</summary>
    private void EmitYieldLeave(int pc)
    {
        a.mov(Block(RunBlock.HeldR0Offset), R64(0));
        var arguments = ArgumentRegisters.ToArray().Where(IsPassedArgument).ToArray();
        foreach (int r in arguments)
        {
            a.mov(Block(RunBlock.ArgsOffset + (8 * (r - 1))), R64(r));
        }

        var saved = SavedRegisters.ToArray();
        EmitLeaveForHost(-1, saved, pc);
        EmitReload(arguments, saved);
    }

    /// <summary>
    /// A helper call: r1-r5 go to the block (the host reads them there and they are restored afterwards), r0 receives the
    /// result. Through the dispatcher, a failure or a stop request leaves through the exit stub. When helper calls return
    /// to the host, the site also saves the named ones of r6-r9 still read after it and leaves with its index and the
    /// address of its resume entry (<see cref="CodeExit"/>); the host calls the helper, handles a failure or a stop
    /// itself and re-enters through the site's resume entry, which takes the result as r0 and runs on into the reloads.
    /// </summary>
    private void EmitHelperCall(int pc, Helpers.Helper? helper, int callxRegister)
    {
        if (helper is not null && TryEmitTailCall(pc, helper))
        {
            return;
        }

        int site = sites.Count;
        var direct = helper is null ? null : Helpers.InlineLookupSite.FindDirect(program, environment, helper, pc, EngineName);
        // A tail call whose program array is known is entered by the host's helper loop itself (helpers that return
        // to the host only: through the dispatcher the caller's native frames are still below the call).
        // Not with local-call frames live, which the host's nested target would leave behind (see HelperReturnAnalysis).
        var tailCalls = helper is null || !helpersReturn || callInterval > 0 ? null : Helpers.InlineLookupSite.FindTailCall(program, environment, helper, pc, EngineName);
        // An rbpf-style helper's entry point, which code that returns to the host leaves with (EmitLeaveForHost).
        nint entry = helpersReturn && helper?.Simple is { } simple ? X64CompiledProgram.HelperEntry(simple) : 0;
        sites.Add(new HelperSite(pc, helper, direct, tailCalls, entry));
        if (callxRegister >= 0)
        {
            a.mov(Block(RunBlock.CallxIdOffset), R64(callxRegister));
        }

        StoreArguments();

        // The frame locates the helper's stack view (HelperContext); an rbpf-style helper gets none.
        if (helper?.Simple is null)
        {
            StoreCallFrame();
        }

        if (helpersReturn)
        {
            EmitLeaveAndReload(pc, site);
            return;
        }

        // Only what may be read after the call comes back from the block (the next call reads r1-r5, so they count).
        abi.EmitDispatcherCall(a, dispatcher, site);
        EmitReload(ArgumentRegisters.ToArray().Where(r => liveness.IsLiveAt(pc + 1, r)), []);

        a.cmp(BlockDword(RunBlock.StatusOffset), 0);
        a.jne(exitStub);
    }

    /// <summary>r1-r5 to the block for the helper: all of them through the dispatcher, the ones it reads when the call
    /// returns to the host.</summary>
    private void StoreArguments()
    {
        foreach (int r in ArgumentRegisters)
        {
            if (!helpersReturn || IsPassedArgument(r))
            {
                a.mov(Block(RunBlock.ArgsOffset + (8 * (r - 1))), R64(r));
            }
        }
    }

    /// <summary>
    /// At a call site of code whose helper calls return to the host, once r1-r5 and the frame are in the block: leaves
    /// with <paramref name="exitSite"/> (<see cref="EmitLeaveForHost"/>), saving the ones of r6-r9 still read after the
    /// call at <paramref name="pc"/>, and reloads after the resume entry only what may be read after it (the next call
    /// reads r1-r5, so they count).
    /// </summary>
    private void EmitLeaveAndReload(int pc, int exitSite)
    {
        int after = pc + 1;
        var saved = SavedRegisters.Where(r => liveness.IsLiveAt(after, r)).ToArray();
        EmitLeaveForHost(exitSite, saved, pc);
        EmitReload(ArgumentRegisters.ToArray().Where(r => IsPassedArgument(r) && liveness.IsLiveAt(after, r)), saved);
    }

    /// <summary>
    /// Leaves the code for the host at a helper call site (<paramref name="site"/>) or a yield (-1), once r1-r5 are in
    /// the block (and, at a yield, r0): saves the <paramref name="saved"/> ones of r6-r9 and returns through the
    /// epilogue with, in rax, the entry point of the site's static rbpf-style helper (the site then in the block's
    /// <see cref="RunBlock.ExitSite"/>) or the site with <see cref="CodeExit.SiteFlag"/> (r0 is written by the call, or
    /// held in the block), and the address of the resume
    /// entry that follows in the ABI's second result register (<see cref="CodeExit"/>): the body is entered by a jump,
    /// so the stack pointer is the entry's and the <c>ret</c> pairs with the host's call. The resume entry
    /// <c>CodeExit (RunBlock*, ulong result)</c>, which the host calls at that address, is the prologue, the stack
    /// pointer for the exit stub, the result as r0, r10 and the yield count; the code that follows reloads what it
    /// needs (see <see cref="EmitReload"/>). No jump or call between the host's call and the continuation, and none
    /// between the site and the host's return.
    /// <para>In a local function (<paramref name="pc"/> outside the entry function, in code with local calls, see
    /// <see cref="callInterval"/>) the native frames of live local calls may lie between the stack pointer and the
    /// entry's: the site also moves those frames to the run's frame save area (<see cref="EmitFramesOut"/>, see
    /// X64Compiler.NestedFrames.cs); the resume entry takes r10 from the block's frame boundary.</para>
    /// </summary>
    private void EmitLeaveForHost(int site, IEnumerable<int> saved, int pc)
    {
        bool nested = IsNested(pc);
        foreach (int r in saved)
        {
            a.mov(Block(RunBlock.SavedRegistersOffset + (8 * (r - 6))), R64(r));
        }

        if (nested)
        {
            EmitFramesOut();
        }

        var resume = a.CreateLabel();
        nint helperEntry = site >= 0 ? sites[site].Entry : 0;
        if (helperEntry != 0)
        {
            // The helper's entry point itself, which the host calls; the site only for the host's error paths.
            a.mov(BlockDword(RunBlock.ExitSiteOffset), site);
            a.mov(R64(0), (ulong)helperEntry);
        }
        else
        {
            a.mov(R64(0), CodeExit.SiteFlag | (uint)site);
        }

        a.lea(abi.SecondReturn, __[resume]);
        abi.EmitEpilogue(a, written, callsOut);

        Bind(ref resume);
        abi.EmitPrologue(a, written, callsOut);
        a.mov(Block(RunBlock.SavedRspOffset), rsp);
        a.mov(R64(0), abi.SecondArgument);
        if (nested)
        {
            EmitFramesResume();
        }
        else if (holdsFrame)
        {
            a.mov(R64(10), Block(RunBlock.StackEndOffset));
        }

        EmitYieldCountStart();
    }

    /// <summary>
    /// Before a backward jump, in code that yields (a loop calls no helper, see <see cref="HelperReturnPlan"/>): counts
    /// the jump down in rbp when the code does not hold r10 there (one <c>sub</c> the <c>je</c> fuses with), else in xmm15
    /// (xmm14 holds 1; the System V ABI lets a function change every xmm register, and nothing else in the code uses
    /// them) and, when the count runs out, leaves for the host without a call: the host resumes at
    /// once with r0 as it was, and the count starts again. Where the count runs out the cancellation flag is polled
    /// too, so a stop request is seen within one interval. Changes r11 and the flags, like the cancellation poll it
    /// replaces.
    /// </summary>
    private void EmitYieldCount(int pc, DecodedInstruction insn)
    {
        if (insn.Target > pc)
        {
            return;
        }

        var leave = a.CreateLabel();
        var back = a.CreateLabel();
        if (counterInFrameRegister)
        {
            a.sub(rbp, 1);
        }
        else
        {
            a.psubq(xmm15, xmm14);
            a.movq(r11, xmm15);
            a.test(r11, r11);
        }

        if (CountsOnYieldCount)
        {
            // The yield count ran out: the yield, or the copy's count spent (see CountsOnYieldCount).
            var outOfCount = a.CreateLabel();
            a.je(outOfCount);
            var copyExit = CopyYieldExit(pc, insn, leave);
            var yieldExit = copyExit ?? leave;
            cold.Add(() =>
            {
                Bind(ref outOfCount);
                EmitCopyCountSpent(pc, insn, yieldExit);
            });

            if (copyExit is not null)
            {
                return;
            }
        }
        else if (CopyYieldExit(pc, insn, leave) is { } checkedExit)
        {
            a.je(checkedExit);
            return;
        }
        else
        {
            a.je(leave);
        }

        Bind(ref back);
        var guardAgain = GuardAgainAfterYield(pc, insn);
        cold.Add(() =>
        {
            var stop = a.CreateLabel();
            Bind(ref leave);
            EmitPollCancel(stop);
            EmitYieldLeave(pc);
            if (guardAgain is { } guard)
            {
                // A counting copy's count did not survive the host: the jump itself, to the guard (which works the
                // count out again from the registers at the head) or to where the checked loop goes on.
                EmitConditionalJumpOrJa(insn, guard.Head);
                if (guard.FallThrough is { } fallThrough)
                {
                    a.jmp(fallThrough);
                }
            }
            else
            {
                a.jmp(back);
            }

            Bind(ref stop);
            EmitCancelledAt(pc);
        });
    }

    /// <summary>In code whose helper calls return to the host, before the epilogue at the run's end (its exit, or the
    /// exit stub after an error): no resume entry in the second result register (see <see cref="CodeExit"/>).</summary>
    private void EmitEndOfRun()
    {
        var resume = new AssemblerRegister32(abi.SecondReturn.Value.GetFullRegister32());
        a.xor(resume, resume);
    }

    /// <summary>After a helper call or a yield: reloads the <paramref name="arguments"/> of r1-r5 and the
    /// <paramref name="saved"/> ones of r6-r9 from the block.</summary>
    private void EmitReload(IEnumerable<int> arguments, IEnumerable<int> saved)
    {
        foreach (int r in arguments)
        {
            a.mov(R64(r), Block(RunBlock.ArgsOffset + (8 * (r - 1))));
        }

        foreach (int r in saved)
        {
            a.mov(R64(r), Block(RunBlock.SavedRegistersOffset + (8 * (r - 6))));
        }
    }

    /// <summary>In code that yields: starts the count of backward jumps (rbp = the interval, or xmm15 = the interval
    /// and xmm14 = 1); at the entry and at every re-entry (the host may have changed every xmm register).</summary>
    private void EmitYieldCountStart()
    {
        if (yieldInterval == 0)
        {
            return;
        }

        if (counterInFrameRegister)
        {
            MovConstant(rbp, (ulong)yieldInterval);
            return;
        }

        MovConstant(r11, (ulong)yieldInterval);
        a.movq(xmm15, r11);
        a.mov(r11d, 1);
        a.movq(xmm14, r11);
    }
}
