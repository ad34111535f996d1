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
/// counting down the counter and continuing at the checked head, with the same registers, once it is 0.
/// </summary>
internal sealed class LoopGuardEmitter
{
    private readonly FunctionCompiler f;
    private readonly Dictionary<int, Site> sites = new();
    private Site? copying;

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
                    Il.DefineLabel("COPY_" + head),
                    Il.DeclareLocal(typeof(ulong), "iterations" + head));
                foreach (int start in loop.BlockStarts)
                {
                    if (start != loop.Head)
                    {
                        site.Labels[start] = Il.DefineLabel($"COPY_{head}_{start.ToString(CultureInfo.InvariantCulture)}");
                    }
                }

                sites.Add(loop.Head, site);
            }
        }
    }

    private IlEmitter Il => f.Il;

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
    public bool SkipsCheck(int pc) => copying is not null && copying.Loop.IsGuarded(pc);

    /// <summary>True while the unchecked copies are emitted.</summary>
    public bool InCopy => copying is not null;

    /// <summary>
    /// The label a jump (or fall-through) at <paramref name="from"/> continues at when it goes to <paramref name="target"/>:
    /// inside the copy being emitted, the copy's block (its head: the counting head); in a checked loop, a jump back to
    /// the head goes past the guard; anything else, the ordinary label.
    /// </summary>
    public Label Target(int from, int target)
    {
        if (copying is not null && copying.Loop.Contains(target))
        {
            return target == copying.Loop.Head ? copying.CopyHead : copying.Labels[target];
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
        return true;
    }

    /// <summary>Emits the unchecked copy of every guarded loop (after the body).</summary>
    public void EmitCopies()
    {
        foreach (var site in sites.Values)
        {
            copying = site;
            var loop = site.Loop;
            Il.Comment($"unchecked copy of the loop at pc {loop.Head}");
            for (int i = 0; i < loop.Instructions.Length; i++)
            {
                int pc = loop.Instructions[i];
                if (pc == loop.Head)
                {
                    // if (iterations == 0) continue in the checked loop; iterations--;
                    Il.MarkLabel(site.CopyHead);
                    Il.Ldloc(site.Iterations);
                    Il.Brfalse(site.CheckedHead);
                    Il.Ldloc(site.Iterations);
                    Il.LdcI8(1);
                    Il.Sub();
                    Il.Stloc(site.Iterations);
                }
                else if (site.Labels.TryGetValue(pc, out var label))
                {
                    Il.MarkLabel(label);
                }

                f.EmitInstructionAt(pc);
                var insn = f.Program.Decoded[pc];
                int next = pc + insn.Length;
                if (insn.FallsThrough && (i + 1 == loop.Instructions.Length || loop.Instructions[i + 1] != next))
                {
                    Il.Br(next < f.Function.End ? Target(pc, next) : f.ExitLabel);
                }
            }

            copying = null;
        }
    }

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

        Il.Br(site.CopyHead);
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

    private sealed class Site(LoopGuard loop, Label checkedHead, Label copyHead, LocalBuilder iterations)
    {
        public LoopGuard Loop { get; } = loop;

        /// <summary>The checked loop's head, past the guard.</summary>
        public Label CheckedHead { get; } = checkedHead;

        /// <summary>The copy's head: counts an iteration down, or continues at the checked head.</summary>
        public Label CopyHead { get; } = copyHead;

        /// <summary>The iterations the copy may still start.</summary>
        public LocalBuilder Iterations { get; } = iterations;

        /// <summary>The copy's block labels (its head excluded).</summary>
        public Dictionary<int, Label> Labels { get; } = new();
    }
}
