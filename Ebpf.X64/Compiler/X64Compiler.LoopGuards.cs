using Ebpf.Analysis;
using Ebpf.Isa;
using Ebpf.X64.Runtime;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Guarded loops (<see cref="CheckPlan.Loops"/>, see <see cref="LoopGuardPlan"/>): where control enters a guarded
/// loop's head from outside, the guard; the checked loop follows as always (its back edges go to its head past the
/// guard); after the code, the unchecked copies. The guard tests the entry conditions and works out in r11 how many
/// arrivals at the head every guarded access passes its inline check for (the same comparison as the check's: input
/// start and limit, or the current or all stack frames), with one unsigned division per moving access (a shift for
/// steps that are powers of two). The counting copy keeps that count in rbp when the code has no other use for it
/// (one <c>sub</c> and <c>jb</c> per iteration); in code that yields, where the yield count already goes down by one at
/// every backward jump, it rides on the yield count (nothing per iteration, see <see cref="CountsOnYieldCount"/>); else
/// in xmm13 (xmm12 holds -1: one <c>paddq</c> per iteration, off the loop's critical path). The copy continues at the checked head, with the same registers, when its count is spent. With a trip bound (<see cref="LoopGuard.Trip"/>) the guard also works out how often the loop can go
/// round at most and, when every arrival that allows is within the count, enters a second copy whose head does not
/// count (the whole-range form). Only rcx, rdx, r11, xmm12 and xmm13 change; eBPF registers the guard needs as
/// temporaries are pushed and popped; rbp holds the count in code that does not use it otherwise. In code that yields
/// (see <see cref="HelperReturnPlan"/>) a whole-range copy yields and resumes in itself; a counting copy's count does
/// not survive the host, so its yield at a jump back to the head resumes with that jump and, when taken, the guard
/// again (see <see cref="GuardAgainAfterYield"/>), and at any other backward jump in the checked loop.
/// </summary>
internal sealed partial class X64Compiler
{
    private readonly Dictionary<int, GuardSite> guardSites = [];

    /// <summary>In code that yields: the checked loops' yield exits by backward-jump pc (the copies leave through them).</summary>
    private readonly Dictionary<int, Label> checkedYieldExits = [];

    private (GuardSite Site, GuardCopy Copy)? guardCopy;
    private int guardedLoops;
    private int guardedAccesses;
    private int wholeRangeLoops;

    /// <summary>What the compilation did with the plan's guarded loops.</summary>
    private LoopGuardCounts GuardCounts => new(guardedLoops, guardedAccesses, wholeRangeLoops);

    /// <summary>True while a copy is emitted (its unguarded accesses are checked but not counted again).</summary>
    private bool InGuardCopy => guardCopy is not null;

    /// <summary>Sets up the guarded loops (with memory checks only) and the labels their copies leave the loop through.</summary>
    private void CreateLoopGuards()
    {
        // The direct body (no run block for the guards' counts) checks each access of its loops.
        if (!checks || directBody)
        {
            return;
        }

        foreach (var loop in plan.Loops.Loops)
        {
            EnsureLabel(loop.Head);
            var site = new GuardSite(loop, a.CreateLabel("checked_head"), NewGuardCopy(loop, counted: true), loop.Trip is null ? null : NewGuardCopy(loop, counted: false));
            guardSites.Add(loop.Head, site);
            foreach (int pc in loop.Instructions)
            {
                var insn = program.Decoded[pc];
                int next = pc + insn.Length;
                if (insn.IsJump && !loop.Contains(insn.Target))
                {
                    EnsureLabel(insn.Target);
                }

                if (insn.FallsThrough && !loop.Contains(next) && next < program.Length)
                {
                    EnsureLabel(next);
                }

                // A counting copy's yield at a conditional jump back to the head resumes at the checked instruction
                // after it when the jump is not taken (see GuardAgainAfterYield), and so does a copy whose count is
                // spent at any backward conditional jump (see CountsOnYieldCount).
                if (yieldInterval > 0 && insn.IsConditionalJump && insn.Target <= pc && next < program.Length)
                {
                    EnsureLabel(next);
                }
            }
        }
    }

    private void EnsureLabel(int pc)
    {
        if (!hasLabel[pc])
        {
            hasLabel[pc] = true;
            labels[pc] = a.CreateLabel();
        }
    }

    private GuardCopy NewGuardCopy(LoopGuard loop, bool counted)
    {
        var copy = new GuardCopy(a.CreateLabel(counted ? "copy_head" : "range_head"), counted);
        foreach (int start in loop.BlockStarts)
        {
            if (start != loop.Head)
            {
                copy.Labels[start] = a.CreateLabel();
            }
        }

        return copy;
    }

    /// <summary>True when the access at <paramref name="pc"/> is emitted in a copy that runs it without its check.</summary>
    private bool SkipsGuardedCheck(int pc) => guardCopy is { } current && current.Site.Loop.IsGuarded(pc);

    /// <summary>
    /// Where a jump (or fall-through) from <paramref name="from"/> to <paramref name="target"/> goes: inside the copy
    /// being emitted, the copy's block (its head for the head); out of a counting copy that rides on the yield count,
    /// a stub that gives the count back first (see <see cref="CountsOnYieldCount"/>); in a checked loop, a jump back
    /// to the head goes past the guard; anything else, the ordinary label.
    /// </summary>
    private Label JumpTarget(int from, int target)
    {
        if (guardCopy is { } current)
        {
            if (current.Site.Loop.Contains(target))
            {
                return target == current.Site.Loop.Head ? current.Copy.Head : current.Copy.Labels[target];
            }

            if (CountsOnYieldCount)
            {
                return CopyExit(current.Copy, target);
            }
        }

        return CheckedTarget(from, target);
    }

    /// <summary>Where a jump from <paramref name="from"/> to <paramref name="target"/> goes in the checked code: a jump back to a guarded loop's head from inside the loop goes past the guard, anything else to the ordinary label.</summary>
    private Label CheckedTarget(int from, int target) =>
        guardSites.TryGetValue(target, out var site) && site.Loop.Contains(from) ? site.CheckedHead : labels[target];

    /// <summary>
    /// True while a counting copy is emitted in code that yields: its count rides on the yield count. The guard takes
    /// <c>rest = max(yield count - count, 0)</c> off the yield count (and keeps it in <see cref="RunBlock.GuardRest"/>),
    /// so the yield count runs out at the copy's backward jump where the copy's count is spent, or earlier where the
    /// yield is due first (rest 0): the copy's backward jumps are the yield's own <c>sub</c> and <c>je</c>, nothing
    /// more. Where it runs out with a rest, the count is spent: the yield count becomes the rest (its true value) and
    /// the jump is made in the checked loop; with no rest, the yield goes as it always does. A jump out of the copy gives
    /// the rest back first (code that yields has one function, so an exit ends the run). Sound because every arrival at the head but the first follows at least one
    /// backward jump (a cycle has one): arrival k comes after k decrements of min(yield count, count) that left it
    /// above 0, so k &lt; count.
    /// </summary>
    private bool CountsOnYieldCount => guardCopy is { } current && current.Copy.Counted && yieldInterval > 0;

    /// <summary>The stub that leaves counting copy <paramref name="copy"/> for <paramref name="target"/>: gives back the
    /// yield count's rest (see <see cref="CountsOnYieldCount"/>), then jumps.</summary>
    private Label CopyExit(GuardCopy copy, int target)
    {
        if (!copy.Exits.TryGetValue(target, out var stub))
        {
            stub = a.CreateLabel();
            copy.Exits.Add(target, stub);
            var exit = stub;
            var ordinary = labels[target];
            cold.Add(() =>
            {
                Bind(ref exit);
                EmitGiveBackYieldRest();
                a.jmp(ordinary);
            });
        }

        return stub;
    }

    /// <summary>Adds the rest a counting copy's guard took off the yield count back to it (changes r11 and the flags).</summary>
    private void EmitGiveBackYieldRest()
    {
        if (counterInFrameRegister)
        {
            a.add(rbp, Block(RunBlock.GuardRestOffset));
        }
        else
        {
            a.movq(r11, xmm15);
            a.add(r11, Block(RunBlock.GuardRestOffset));
            a.movq(xmm15, r11);
        }
    }

    /// <summary>
    /// In a counting copy that rides on the yield count (see <see cref="CountsOnYieldCount"/>), where the yield count ran
    /// out at the backward jump <paramref name="insn"/> at <paramref name="pc"/>: with no rest, to
    /// <paramref name="yieldExit"/>; else the yield count becomes the rest and the jump is made in the checked loop (to
    /// its target there, the checked head for the loop's head, or on to the checked instruction after it).
    /// </summary>
    private void EmitCopyCountSpent(int pc, DecodedInstruction insn, Label yieldExit)
    {
        a.cmp(Block(RunBlock.GuardRestOffset), 0);
        a.je(yieldExit);
        if (counterInFrameRegister)
        {
            a.mov(rbp, Block(RunBlock.GuardRestOffset));
        }
        else
        {
            a.mov(r11, Block(RunBlock.GuardRestOffset));
            a.movq(xmm15, r11);
        }

        EmitConditionalJumpOrJa(insn, CheckedTarget(pc, insn.Target));
        if (insn.IsConditionalJump)
        {
            a.jmp(labels[pc + insn.Length]);
        }
    }

    /// <summary>
    /// In code that yields, at the backward jump at <paramref name="pc"/>: in a counting copy, when the jump does not go
    /// to the loop's head, the yield exit of the checked loop's same jump (the copy leaves for the host through the
    /// checked loop, which it resumes in: xmm12 and xmm13 do not survive the host); otherwise null (a whole-range copy
    /// has no count and resumes in itself; a counting copy's jump to the head resumes through the guard, see
    /// <see cref="GuardAgainAfterYield"/>), after recording <paramref name="exit"/> as that exit in the checked code.
    /// </summary>
    private Label? CopyYieldExit(int pc, DecodedInstruction insn, Label exit)
    {
        if (guardCopy is { } current)
        {
            return current.Copy.Counted && insn.Target != current.Site.Loop.Head ? checkedYieldExits[pc] : null;
        }

        checkedYieldExits.TryAdd(pc, exit);
        return null;
    }

    /// <summary>
    /// In code that yields, at the backward jump at <paramref name="pc"/> of a counting copy that goes to the loop's head:
    /// where the resumed run continues, the guard (the loop's label, before the guard) when the jump is taken, else
    /// the checked code's instruction after the jump (null for an unconditional jump). Re-entering the guard at a
    /// later arrival at the head is as sound as at the first: it works everything out from the registers at the head
    /// (the entry conditions, each access' count, the trip bound), as it does when control enters from outside.
    /// Null anywhere else.
    /// </summary>
    private (Label Head, Label? FallThrough)? GuardAgainAfterYield(int pc, DecodedInstruction insn)
    {
        if (guardCopy is not { } current || !current.Copy.Counted || insn.Target != current.Site.Loop.Head)
        {
            return null;
        }

        return (labels[insn.Target], insn.IsConditionalJump ? labels[pc + insn.Length] : null);
    }

    /// <summary>
    /// Before the instruction at <paramref name="pc"/> in the body: when a guarded loop's instruction above falls into
    /// its head (a back edge), the jump to the checked head.
    /// </summary>
    private void EmitFallIntoGuardedHead(int pc)
    {
        if (!guardSites.TryGetValue(pc, out var site))
        {
            return;
        }

        int previous = pc - 1;
        if (previous >= 0 && program.IsSecondSlot(previous))
        {
            previous--;
        }

        if (previous >= 0 && site.Loop.Contains(previous) && program.Decoded[previous].FallsThrough)
        {
            a.jmp(site.CheckedHead);
        }
    }

    /// <summary>
    /// At a guarded head: binds the label entries from outside use, emits the guard and binds the checked head; returns
    /// false (nothing emitted) at any other pc.
    /// </summary>
    private bool EmitLoopGuard(int pc)
    {
        if (!guardSites.TryGetValue(pc, out var site))
        {
            return false;
        }

        Bind(ref labels[pc]);
        var loop = site.Loop;
        foreach (var condition in loop.EntryConditions)
        {
            a.mov(rcx, R64(condition.Source));
            AddConstant(rcx, condition.Delta);
            a.cmp(R64(condition.Register), rcx);
            a.jne(site.CheckedHead);
        }

        // r11 = the smallest count; the first moving access sets it, and with none it is "any number" (all the
        // accesses stay in place and passed their check once).
        bool counted = false;
        foreach (var access in loop.Accesses)
        {
            counted |= EmitGuardedAccessCount(site, access, first: !counted);
        }

        if (!counted)
        {
            MovConstant(r11, ulong.MaxValue);
        }

        if (site.Range is { } range)
        {
            EmitWholeRangeTest(loop.Trip!, range.Head);
        }

        if (guardCountInFrameRegister)
        {
            a.mov(rbp, r11);
        }
        else if (yieldInterval > 0)
        {
            // The copy's count rides on the yield count (see CountsOnYieldCount): yield count = min(yield count,
            // count), rest = what that took off.
            if (counterInFrameRegister)
            {
                a.mov(rcx, rbp);
                a.cmp(rbp, r11);
                a.cmova(rbp, r11);
                a.sub(rcx, rbp);
                a.mov(Block(RunBlock.GuardRestOffset), rcx);
            }
            else
            {
                a.movq(rcx, xmm15);
                a.mov(rdx, rcx);
                a.cmp(rdx, r11);
                a.cmova(rdx, r11);
                a.sub(rcx, rdx);
                a.mov(Block(RunBlock.GuardRestOffset), rcx);
                a.movq(xmm15, rdx);
            }
        }
        else
        {
            a.movq(xmm13, r11);
            a.pcmpeqd(xmm12, xmm12);
        }

        a.jmp(site.Counted.Head);
        var head = site.CheckedHead;
        Bind(ref head);
        guardedLoops++;
        guardedAccesses += loop.Accesses.Length;
        wholeRangeLoops += site.Range is null ? 0 : 1;
        return true;
    }

    /// <summary>
    /// r11 = min(r11, the arrivals at the head whose address passes the access' inline check), or, when
    /// <paramref name="first"/>, that number itself; to the checked head when the first arrival does not pass. For first
    /// offset <c>o</c> into the region, limit <c>L</c> (passes when <c>o &lt; L</c>) and step <c>d</c>:
    /// <c>(L - 1 - o) / d + 1</c> arrivals when <c>d &gt; 0</c> (<c>L - o</c> for a step of 1), <c>o / -d + 1</c> when
    /// <c>d &lt; 0</c>. Returns false for an access that does not move (it passed, and r11 is left as it was).
    /// </summary>
    private bool EmitGuardedAccessCount(GuardSite site, GuardedAccess access, bool first)
    {
        int size = access.Size;
        LoadForm(rcx, access.Address);
        switch (StackCheckOf(access.Pc))
        {
            case StackCheck.CurrentFrame:
                SubFrameTop(rcx);
                a.add(rcx, stackSize);
                a.mov(edx, stackSize - size + 1);
                break;
            case StackCheck.AllFrames:
                SubFrameTop(rcx);
                a.add(rcx, stackSize);
                a.mov(rdx, Block(RunBlock.StackEndOffset));
                SubFrameTop(rdx);
                a.add(rdx, stackSize - size + 1);
                break;
            default:
                a.sub(rcx, Block(RunBlock.InputStartOffset));
                a.mov(rdx, Block(RunBlock.InputLimitOffset + (8 * System.Numerics.BitOperations.Log2((uint)size))));
                break;
        }

        a.cmp(rcx, rdx);
        a.jae(site.CheckedHead);
        if (access.Step == 0)
        {
            return false;
        }

        if (access.Step == 1)
        {
            // (L - 1 - o) / 1 + 1 = L - o (o < L: no wrap).
            a.sub(rdx, rcx);
        }
        else
        {
            if (access.Step > 0)
            {
                a.sub(rdx, rcx);
                a.sub(rdx, 1);
            }
            else
            {
                a.mov(rdx, rcx);
            }

            DivideRdx(access.Step > 0 ? (ulong)access.Step : (ulong)-access.Step);
            a.add(rdx, 1);
        }

        if (first)
        {
            a.mov(r11, rdx);
        }
        else
        {
            a.cmp(rdx, r11);
            a.cmovb(r11, rdx);
        }

        return true;
    }

    /// <summary>
    /// Jumps to <paramref name="range"/> when the trip bound lets the loop arrive at its head at most r11 times (its
    /// stays, the arithmetic of <see cref="TripBound.Stays"/>, below r11); falls through otherwise.
    /// </summary>
    private void EmitWholeRangeTest(TripBound trip, Label range)
    {
        var counted = a.CreateLabel();
        LoadForm(rcx, trip.Moving);
        XorMask(rcx, trip.Mask);
        LoadForm(rdx, trip.Limit);
        XorMask(rdx, trip.Mask);
        if (trip.NotEqual)
        {
            a.sub(rdx, rcx);
        }
        else
        {
            if (trip.Inclusive)
            {
                a.add(rdx, 1);
                a.jb(counted);
            }

            if (trip.Step > 1)
            {
                a.cmp(rdx, (int)-trip.Step);
                a.ja(counted);
            }

            var some = a.CreateLabel();
            var done = a.CreateLabel();
            a.cmp(rcx, rdx);
            a.jb(some);
            a.xor(edx, edx);
            a.jmp(done);
            Bind(ref some);
            a.sub(rdx, rcx);
            a.sub(rdx, 1);
            DivideRdx((ulong)trip.Step);
            a.add(rdx, 1);
            Bind(ref done);
        }

        a.cmp(rdx, r11);
        a.jb(range);
        Bind(ref counted);
    }

    /// <summary>rdx = rdx / <paramref name="divisor"/> (unsigned; a shift for powers of two); rcx and rax are kept.</summary>
    private void DivideRdx(ulong divisor)
    {
        if (System.Numerics.BitOperations.IsPow2(divisor))
        {
            int shift = System.Numerics.BitOperations.Log2(divisor);
            if (shift > 0)
            {
                a.shr(rdx, (byte)shift);
            }

            return;
        }

        a.push(rax);
        a.push(rcx);
        a.mov(rax, rdx);
        a.xor(edx, edx);
        MovConstant(rcx, divisor);
        a.div(rcx);
        a.mov(rdx, rax);
        a.pop(rcx);
        a.pop(rax);
    }

    /// <summary><paramref name="target"/> = the value of <paramref name="form"/> over the current registers (wrapping); no other register changes.</summary>
    private void LoadForm(AssemblerRegister64 target, LinearForm form)
    {
        // The first two registers taken once and a 32-bit constant make one lea; the rest is added on.
        int taken = 0;
        Span<int> bases = [-1, -1];
        for (int r = 0; r <= 10 && taken < 2 && FitsDisplacement(form.Constant); r++)
        {
            if (form.Coefficient(r) == 1)
            {
                bases[taken++] = r;
            }
        }

        if (taken == 0)
        {
            MovConstant(target, unchecked((ulong)form.Constant));
        }
        else
        {
            a.lea(target, bases[1] < 0 ? __[R64(bases[0]) + (int)form.Constant] : __[R64(bases[0]) + R64(bases[1]) + (int)form.Constant]);
        }

        int skipped = 0;
        for (int r = 0; r <= 10; r++)
        {
            long coefficient = form.Coefficient(r);
            if (coefficient == 1 && skipped < taken)
            {
                skipped++;
            }
            else if (coefficient == 1)
            {
                a.add(target, R64(r));
            }
            else if (coefficient == -1)
            {
                a.sub(target, R64(r));
            }
            else if (coefficient != 0)
            {
                // The register itself holds the product for a moment.
                a.push(R64(r));
                if (coefficient is >= int.MinValue and <= int.MaxValue)
                {
                    a.imul(R64(r), R64(r), (int)coefficient);
                }
                else
                {
                    a.mov(R64(r), unchecked((ulong)coefficient));
                    a.imul(R64(r), __qword_ptr[rsp]);
                }

                a.add(target, R64(r));
                a.pop(R64(r));
            }
        }
    }

    private void AddConstant(AssemblerRegister64 register, long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            if (value != 0)
            {
                a.add(register, (int)value);
            }

            return;
        }

        a.mov(rdx, unchecked((ulong)value));
        a.add(register, rdx);
    }

    /// <summary><paramref name="register"/> ^= <paramref name="mask"/> for the masks of <see cref="TripBound"/>.</summary>
    private void XorMask(AssemblerRegister64 register, ulong mask)
    {
        if ((mask & ~(1UL << 63)) != 0)
        {
            a.not(register);
            mask = ~mask;
        }

        if (mask != 0)
        {
            a.btc(register, 63);
        }
    }

    /// <summary>Emits the unchecked copies of every guarded loop (after the code).</summary>
    private void EmitLoopCopies()
    {
        foreach (var site in guardSites.Values)
        {
            EmitLoopCopy(site, site.Counted);
            if (site.Range is { } range)
            {
                EmitLoopCopy(site, range);
            }
        }
    }

    private void EmitLoopCopy(GuardSite site, GuardCopy copy)
    {
        guardCopy = (site, copy);
        var loop = site.Loop;
        var code = program.Decoded.AsSpan();
        var layout = loop.CopyLayout(program).ToArray();
        for (int i = 0; i < layout.Length; i++)
        {
            int pc = layout[i].Pc;
            if (pc == loop.Head)
            {
                var head = copy.Head;
                Bind(ref head);
                if (copy.Counted && guardCountInFrameRegister)
                {
                    // count--; continue in the checked loop if it was 0 (one sub the jb fuses with; the count is then
                    // spent, and only the guard sets it again).
                    a.sub(rbp, 1);
                    a.jb(site.CheckedHead);
                }
                else if (copy.Counted && yieldInterval == 0)
                {
                    // if (count == 0) continue in the checked loop; count--;
                    a.movq(r11, xmm13);
                    a.test(r11, r11);
                    a.je(site.CheckedHead);
                    a.paddq(xmm13, xmm12);
                }
            }
            else if (copy.Labels.TryGetValue(pc, out var label))
            {
                Bind(ref label);
            }

            if (segments is not null && segments.LengthAt(pc) != 0)
            {
                EmitBudgetCheck(pc);
            }

            // As in the body: fused sequences (their instructions after the first have no label, so they follow it
            // in the copy too).
            int fused = EmitCombined(pc, code);
            if (fused == 0)
            {
                EmitInstruction(pc, code[pc]);
            }
            else
            {
                i += fused - 1;
            }

            int last = layout[i].Pc;
            System.Diagnostics.Debug.Assert(last == pc + Math.Max(fused, 1) - 1, "a fused sequence is consecutive in the copy");
            if (layout[i].JumpAfter >= 0)
            {
                a.jmp(JumpTarget(last, layout[i].JumpAfter));
            }
        }

        guardCopy = null;
    }

    /// <summary>A guarded loop: its checked head (past the guard) and its copies.</summary>
    private sealed class GuardSite(LoopGuard loop, Label checkedHead, GuardCopy counted, GuardCopy? range)
    {
        public LoopGuard Loop { get; } = loop;

        public Label CheckedHead { get; } = checkedHead;

        public GuardCopy Counted { get; } = counted;

        public GuardCopy? Range { get; } = range;
    }

    /// <summary>One unchecked copy of a loop: its head, its block labels (head excluded), whether its head counts.</summary>
    private sealed class GuardCopy(Label head, bool counted)
    {
        public Label Head { get; } = head;

        public bool Counted { get; } = counted;

        public Dictionary<int, Label> Labels { get; } = [];

        /// <summary>By target pc outside the loop: the stub a counting copy that rides on the yield count leaves through.</summary>
        public Dictionary<int, Label> Exits { get; } = [];
    }
}
