using System.Globalization;
using System.Reflection.Emit;
using Ebpf.Analysis;
using Ebpf.Il.Emit;

namespace Ebpf.Il.Compiler;

/// <summary>
/// The guarded loops of one function (see <see cref="LoopGuardPlan"/>). In the body, where control enters a guarded
/// loop's head from outside, it emits the guard: the entry conditions and, per guarded access, how many iterations
/// pass the access' inline check (the minimum goes to a counter local); then it branches to the loop's unchecked copy.
/// The checked loop follows the guard as it always did; its own back edges go to its head past the guard. After the
/// body it emits each copy: the loop's instructions once more, the guarded accesses without a check, the head
/// counting down the counter and continuing at the checked head, with the same registers, once it is 0. A loop with a
/// trip bound (<see cref="LoopGuard.Trip"/>) gets a second copy whose head does not count: the guard enters it when
/// the bound lets the loop arrive at its head no more often than the count (the whole-range form).
/// <para>
/// The counting copy's jumps back to its head do not poll for cancellation as every other backward jump does: its
/// count comes in slices of at most <see cref="SliceOf"/> arrivals, and the head polls where a slice is spent, before
/// it takes the next (see <see cref="EmitRefill"/>). Between two arrivals at the head without a poll the code passes
/// each of the loop's slots at most once (a jump back to another block of the loop polls), so a poll comes at least
/// every <see cref="MaxStretch"/> slots, as x64's yields do; each iteration pays one count instead of a count and a
/// poll. A restartable direct entry keeps its step count at every backward jump (it has no run state to poll).
/// </para>
/// </summary>
internal sealed class LoopGuardEmitter
{
    private readonly FunctionCompiler f;
    private readonly Dictionary<int, Site> sites = new();
    private (Site Site, Copy Copy)? copying;

    public LoopGuardEmitter(FunctionCompiler function, LoopGuardPlan plan)
    {
        f = function;
        foreach (var loop in plan.Loops)
        {
            if (loop.Head >= f.Function.Start && loop.Head < f.Function.End)
            {
                string head = loop.Head.ToString(CultureInfo.InvariantCulture);
                var site = new Site(
                    loop,
                    Il.DefineLabel("CHECKED_" + head),
                    NewCopy(loop, "COPY_" + head, counted: true),
                    loop.Trip is null ? null : NewCopy(loop, "RANGE_" + head, counted: false),
                    Il.DeclareLocal(typeof(ulong), "iterations" + head),
                    loop.Trip is null ? null : Il.DeclareLocal(typeof(ulong), "stays" + head))
                {
                    Slice = f.Direct ? null : Il.DeclareLocal(typeof(ulong), "slice" + head),
                    Refill = Il.DefineLabel("REFILL_" + head),
                };
                sites.Add(loop.Head, site);
            }
        }
    }

    private IlEmitter Il => f.Il;

    /// <summary>The most slots the code of a counting copy runs between two cancellation polls (about ten microseconds; x64 yields as often).</summary>
    internal const int MaxStretch = 8 * Execution.BriefCode.MaxSlots;

    /// <summary>The arrivals at the head of <paramref name="loop"/>'s counting copy between two polls: at least one, at most <see cref="MaxStretch"/> slots' worth.</summary>
    internal static long SliceOf(LoopGuard loop) => Math.Max(1, MaxStretch / Math.Max(1, loop.Instructions.Length));

    /// <summary>
    /// True when the backward jump at <paramref name="from"/> to <paramref name="target"/> is a jump of the counting copy
    /// being emitted back to its head, which polls for cancellation itself (see the class remarks): the jump does not.
    /// </summary>
    public bool HeadPolls(int from, int target) =>
        copying is { } current && current.Copy.Counted && !f.Direct && target == current.Site.Loop.Head && current.Site.Loop.Contains(from);

    private Copy NewCopy(LoopGuard loop, string name, bool counted)
    {
        var copy = new Copy(Il.DefineLabel(name), counted);
        foreach (int start in loop.BlockStarts)
        {
            if (start != loop.Head)
            {
                copy.Labels[start] = Il.DefineLabel($"{name}_{start.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        return copy;
    }

    /// <summary>
    /// The pcs outside the loops control may continue at from inside one (jump targets and fall-through successors);
    /// the body needs a label at each, and at each head.
    /// </summary>
    public IEnumerable<int> LabelledPcs()
    {
        foreach (var site in sites.Values)
        {
            yield return site.Loop.Head;
            foreach (int pc in site.Loop.Instructions)
            {
                var insn = f.Program.Decoded[pc];
                int next = pc + insn.Length;
                if (insn.IsJump && !site.Loop.Contains(insn.Target))
                {
                    yield return insn.Target;
                }

                if (insn.FallsThrough && !site.Loop.Contains(next) && next < f.Function.End)
                {
                    yield return next;
                }
            }
        }
    }

    /// <summary>
    /// True when the access at <paramref name="pc"/> is being emitted in an unchecked copy that covers it: it gets no
    /// check there.
    /// </summary>
    public bool SkipsCheck(int pc) => copying is not null && copying.Value.Site.Loop.IsGuarded(pc);

    /// <summary>True while the unchecked copies are emitted.</summary>
    public bool InCopy => copying is not null;

    /// <summary>
    /// The label a jump (or fall-through) at <paramref name="from"/> continues at when it goes to <paramref name="target"/>:
    /// inside the copy being emitted, the copy's block (its head: the counting head); in a checked loop, a jump back to
    /// the head goes past the guard; anything else, the ordinary label.
    /// </summary>
    public Label Target(int from, int target)
    {
        if (copying is { } current && current.Site.Loop.Contains(target))
        {
            return target == current.Site.Loop.Head ? current.Copy.Head : current.Copy.Labels[target];
        }

        if (sites.TryGetValue(target, out var site) && site.Loop.Contains(from))
        {
            return site.CheckedHead;
        }

        return f.JumpLabel(target);
    }

    /// <summary>
    /// At <paramref name="pc"/> in the body, before its instruction: when it is a guarded head, ends the loop instruction
    /// above that falls into it (a back edge: to the checked head), marks the label outside entries use, emits the guard
    /// and marks the checked head; returns false when <paramref name="pc"/> is no guarded head.
    /// </summary>
    public bool EmitEntry(int pc)
    {
        if (!sites.TryGetValue(pc, out var site))
        {
            return false;
        }

        int previous = pc - 1;
        if (previous >= f.Function.Start && f.Program.IsSecondSlot(previous))
        {
            previous--;
        }

        if (previous >= f.Function.Start && site.Loop.Contains(previous) && f.Program.Decoded[previous].FallsThrough)
        {
            Il.Br(site.CheckedHead);
        }

        Il.MarkLabel(f.JumpLabel(pc));
        EmitGuard(site);
        Il.MarkLabel(site.CheckedHead);
        f.Owner.GuardedLoops++;
        f.Owner.GuardedAccesses += site.Loop.Accesses.Length;
        f.Owner.WholeRangeLoops += site.Range is null ? 0 : 1;
        return true;
    }

    /// <summary>Emits the unchecked copies of every guarded loop (after the body): the counting one and, with a trip bound, the whole-range one.</summary>
    public void EmitCopies()
    {
        foreach (var site in sites.Values)
        {
            EmitCopy(site, site.Counted);
            if (site.Range is { } range)
            {
                EmitCopy(site, range);
            }
        }
    }

    private void EmitCopy(Site site, Copy copy)
    {
        copying = (site, copy);
        var loop = site.Loop;
        Il.Comment($"unchecked copy of the loop at pc {loop.Head}{(copy.Counted ? "" : ", whole range in bounds")}");
        foreach (var (pc, jumpAfter) in loop.CopyLayout(f.Program))
        {
            if (pc == loop.Head)
            {
                Il.MarkLabel(copy.Head);
                if (copy.Counted)
                {
                    // if (count == 0) continue in the checked loop (or, sliced, take the next slice); count--;
                    var count = site.Slice ?? site.Iterations;
                    Il.Ldloc(count);
                    Il.Brfalse(site.Slice is null ? site.CheckedHead : site.Refill);
                    Il.Ldloc(count);
                    Il.LdcI8(1);
                    Il.Sub();
                    Il.Stloc(count);
                }
            }
            else if (copy.Labels.TryGetValue(pc, out var label))
            {
                Il.MarkLabel(label);
            }

            f.EmitInstructionAt(pc);
            if (jumpAfter >= 0)
            {
                Il.Br(jumpAfter < f.Function.End ? Target(pc, jumpAfter) : f.ExitLabel);
            }
        }

        copying = null;
        if (copy.Counted && site.Slice is not null)
        {
            EmitRefill(site, copy);
        }
    }

    /// <summary>
    /// Where the counting copy's slice is spent: the checked loop when the guard's count is spent too, else a poll for
    /// cancellation and the next slice, and the head again. The poll is reported at the loop's last backward jump
    /// (usually its jump back to the head; a loop entered at its latch comes back to its head by falling through, and
    /// its cycle passes a backward jump to another block, which polls as ever).
    /// </summary>
    private void EmitRefill(Site site, Copy copy)
    {
        var loop = site.Loop;
        Il.MarkLabel(site.Refill);
        Il.Ldloc(site.Iterations);
        Il.Brfalse(site.CheckedHead);
        f.EmitCancelPoll(loop.Instructions.Where(pc => f.Program.Decoded[pc].IsJump && f.Program.Decoded[pc].Target <= pc).Max());
        EmitSlice(site);
        Il.Br(copy.Head);
    }

    /// <summary>slice = min(count, <see cref="SliceOf"/>); count -= slice (the guard's count is what is left after the slice).</summary>
    private void EmitSlice(Site site)
    {
        var slice = site.Slice!;
        var whole = Il.DefineLabel($"SLICE_{site.Loop.Head.ToString(CultureInfo.InvariantCulture)}_{sliceLabels++.ToString(CultureInfo.InvariantCulture)}");
        Il.LdcI8(SliceOf(site.Loop));
        Il.Stloc(slice);
        Il.Ldloc(site.Iterations);
        Il.Ldloc(slice);
        Il.BgeUn(whole);
        Il.Ldloc(site.Iterations);
        Il.Stloc(slice);
        Il.MarkLabel(whole);
        Il.Ldloc(site.Iterations);
        Il.Ldloc(slice);
        Il.Sub();
        Il.Stloc(site.Iterations);
    }

    /// <summary>Numbers the labels of <see cref="EmitSlice"/> (emitted once in the guard and once in the refill of a loop).</summary>
    private int sliceLabels;

    /// <summary>
    /// The guard: iterations = the most iterations every guarded access passes its inline check for (unsigned; all
    /// ones when no access moves), or straight to the checked loop when an entry condition fails or some access would
    /// fail on the first iteration. For an access with first offset <c>o = address - base</c> into its region, limit
    /// <c>L</c> (the access passes when <c>o &lt; L</c>, unsigned) and step <c>d</c>: iteration <c>n</c> passes for
    /// <c>n &lt;= (L - 1 - o) / d</c> when <c>d &gt; 0</c>, <c>n &lt;= o / -d</c> when <c>d &lt; 0</c> (no wrap-around
    /// on the way: the offsets stay in <c>[0, L)</c>).
    /// </summary>
    private void EmitGuard(Site site)
    {
        var loop = site.Loop;
        Il.Comment($"guard of the loop at pc {loop.Head}: {loop.Accesses.Length} access(es) unchecked in its copy");
        Il.LdcI8(-1);
        Il.Stloc(site.Iterations);
        foreach (var condition in loop.EntryConditions)
        {
            f.Load(condition.Register);
            f.Load(condition.Source);
            Il.LdcI8(condition.Delta);
            Il.Add();
            Il.BneUn(site.CheckedHead);
        }

        foreach (var access in loop.Accesses)
        {
            var limit = f.Checks.Limit(access.Region, access.Size);
            PushForm(access.Address);
            Il.Ldloc(f.Checks.Base(access.Region));
            Il.Sub();
            Il.Stloc(f.Address);
            Il.Ldloc(f.Address);
            Il.Ldloc(limit);
            Il.BgeUn(site.CheckedHead);
            if (access.Step == 0)
            {
                continue;
            }

            if (access.Step > 0)
            {
                Il.Ldloc(limit);
                Il.LdcI8(1);
                Il.Sub();
                Il.Ldloc(f.Address);
                Il.Sub();
                Il.LdcI8(access.Step);
            }
            else
            {
                Il.Ldloc(f.Address);
                Il.LdcI8(-access.Step);
            }

            Il.DivUn();
            Il.LdcI8(1);
            Il.Add();
            Il.Stloc(f.Address);
            var keep = Il.DefineLabel($"GUARD_{access.Pc.ToString(CultureInfo.InvariantCulture)}_KEEP");
            Il.Ldloc(f.Address);
            Il.Ldloc(site.Iterations);
            Il.BgeUn(keep);
            Il.Ldloc(f.Address);
            Il.Stloc(site.Iterations);
            Il.MarkLabel(keep);
        }

        if (site.Range is { } range)
        {
            EmitWholeRangeTest(site, loop.Trip!, range.Head);
        }

        if (site.Slice is not null)
        {
            EmitSlice(site);
        }

        Il.Br(site.Counted.Head);
    }

    /// <summary>
    /// The whole-range form's test, after the iterations are counted: branches to the copy without a count when the
    /// trip bound lets the loop arrive at its head at most <c>iterations</c> times (the bound's stays &lt; iterations,
    /// the arithmetic of <see cref="TripBound.Stays"/>); falls through otherwise.
    /// </summary>
    private void EmitWholeRangeTest(Site site, TripBound trip, Label range)
    {
        var counted = site.Counted.Head;
        var bound = site.Bound!;
        PushForm(trip.Moving);
        if (trip.Mask != 0)
        {
            Il.LdcI8(unchecked((long)trip.Mask));
            Il.Xor();
        }

        Il.Stloc(f.Address);
        PushForm(trip.Limit);
        if (trip.Mask != 0)
        {
            Il.LdcI8(unchecked((long)trip.Mask));
            Il.Xor();
        }

        Il.Stloc(bound);
        if (trip.NotEqual)
        {
            // stays = v - u
            Il.Ldloc(bound);
            Il.Ldloc(f.Address);
            Il.Sub();
            Il.Stloc(bound);
        }
        else
        {
            if (trip.Inclusive)
            {
                // u <= v is u < v + 1, unless v + 1 wraps (no bound)
                Il.Ldloc(bound);
                Il.LdcI8(-1);
                Il.Beq(counted);
                Il.Ldloc(bound);
                Il.LdcI8(1);
                Il.Add();
                Il.Stloc(bound);
            }

            if (trip.Step > 1)
            {
                // u could step past 2^64 - 1 and wrap before it reaches v: no bound
                Il.Ldloc(bound);
                Il.LdcI8(-trip.Step);
                Il.BgtUn(counted);
            }

            // stays = u >= v ? 0 : (v - u - 1) / step + 1
            var some = Il.DefineLabel($"TRIP_{trip.Pc.ToString(CultureInfo.InvariantCulture)}_SOME");
            var done = Il.DefineLabel($"TRIP_{trip.Pc.ToString(CultureInfo.InvariantCulture)}_DONE");
            Il.Ldloc(f.Address);
            Il.Ldloc(bound);
            Il.BltUn(some);
            Il.LdcI8(0);
            Il.Stloc(bound);
            Il.Br(done);
            Il.MarkLabel(some);
            Il.Ldloc(bound);
            Il.Ldloc(f.Address);
            Il.Sub();
            Il.LdcI8(1);
            Il.Sub();
            if (trip.Step > 1)
            {
                Il.LdcI8(trip.Step);
                Il.DivUn();
            }

            Il.LdcI8(1);
            Il.Add();
            Il.Stloc(bound);
            Il.MarkLabel(done);
        }

        Il.Ldloc(bound);
        Il.Ldloc(site.Iterations);
        Il.BltUn(range);
    }

    /// <summary>Pushes the value of <paramref name="form"/> over the current registers (64 bits, wrapping).</summary>
    private void PushForm(LinearForm form)
    {
        Il.LdcI8(form.Constant);
        for (int r = 0; r <= 10; r++)
        {
            long coefficient = form.Coefficient(r);
            if (coefficient == 0)
            {
                continue;
            }

            f.Load(r);
            if (coefficient != 1)
            {
                Il.LdcI8(coefficient);
                Il.Mul();
            }

            Il.Add();
        }
    }

    private sealed class Site(LoopGuard loop, Label checkedHead, Copy counted, Copy? range, LocalBuilder iterations, LocalBuilder? bound)
    {
        public LoopGuard Loop { get; } = loop;

        /// <summary>The checked loop's head, past the guard.</summary>
        public Label CheckedHead { get; } = checkedHead;

        /// <summary>The copy whose head counts an iteration down, or continues at the checked head.</summary>
        public Copy Counted { get; } = counted;

        /// <summary>The whole-range copy (no count), when the loop has a trip bound.</summary>
        public Copy? Range { get; } = range;

        /// <summary>The iterations the counting copy may still start.</summary>
        public LocalBuilder Iterations { get; } = iterations;

        /// <summary>The trip bound's operand and then its stays (whole-range form only).</summary>
        public LocalBuilder? Bound { get; } = bound;

        /// <summary>
        /// The arrivals the counting copy may still start before its head polls (see <see cref="SliceOf"/>); the rest of
        /// the guard's count stays in <see cref="Iterations"/>. Null in a restartable direct entry, whose copy counts
        /// <see cref="Iterations"/> itself and keeps its backward jumps' steps.
        /// </summary>
        public LocalBuilder? Slice { get; init; }

        /// <summary>Where the counting copy's head goes when its slice is spent (see <see cref="EmitRefill"/>).</summary>
        public Label Refill { get; init; }
    }

    /// <summary>One unchecked copy of a loop: its head label, its block labels (head excluded), whether its head counts.</summary>
    private sealed class Copy(Label head, bool counted)
    {
        public Label Head { get; } = head;

        public bool Counted { get; } = counted;

        public Dictionary<int, Label> Labels { get; } = new();
    }
}
