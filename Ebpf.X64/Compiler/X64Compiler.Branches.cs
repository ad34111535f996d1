using Ebpf.Isa;

namespace Ebpf.X64.Compiler;

/// <summary>
/// The same conditional jump twice around one instruction that leaves its registers alone
/// (<c>if (c) goto +1; X; if (c) goto +1; Y</c>, the steps of clang's log2): the second compare has the first's outcome,
/// so one jump past X and Y (<c>if (c) goto after Y; X; Y</c>), as RyuJIT compiles the IL engine's IL for it. Applied
/// in the body only (a guarded loop's copy lays its blocks out in another order), and only where nothing else enters
/// the sequence (no label but the second jump's, whose only way in is the first jump; no budget segment; no guarded loop
/// around it), so every way into the code still finds the eBPF state it expects.
/// </summary>
/// <remarks>
/// Tried and dropped: a conditional jump over a forward <c>ja</c> as one inverted jump (a switch's compare chain). It
/// removes a taken jump from the way that goes on, yet the switch workload ran 10-20 % slower with it in five
/// alternated rounds of five (its time is mostly mispredicted branches over input that repeats every run).
/// </remarks>
internal sealed partial class X64Compiler
{
    /// <summary>By pc: how many jumps go there (counted once, on first use).</summary>
    private int[]? jumpSources;

    /// <summary>
    /// <c>if (c) goto +1; X; if (c) goto +1; Y</c> at <paramref name="pc"/> as <c>if (c) goto after Y; X; Y</c>: returns
    /// 4, or 0 (nothing emitted) when the shape is not there. The second jump's only way in is the first jump (its label
    /// is left unbound, so a stray use would fail at assembly, not run wrong), X and Y are one-slot arithmetic, and X
    /// writes neither compared register.
    /// </summary>
    private int EmitRepeatedCompare(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var first = code[pc];
        if (InGuardCopy || !first.IsConditionalJump || first.Target != pc + 2 || pc + 4 >= program.Length
            || !FusesWithPrevious(pc + 1) || !FusesWithPrevious(pc + 3) || renamedCompares.ContainsKey(pc)
            || renamedCompares.ContainsKey(pc + 2) || JumpSources[pc + 2] != 1
            || (segments is not null && segments.LengthAt(pc + 2) != 0)
            || guardSites.ContainsKey(pc + 2) || InGuardedLoop(pc) || InGuardedLoop(pc + 1) || InGuardedLoop(pc + 2) || InGuardedLoop(pc + 3))
        {
            return 0;
        }

        var x = code[pc + 1];
        var second = code[pc + 2];
        var y = code[pc + 3];
        bool same = second.Operation == first.Operation && second.Is64 == first.Is64 && second.Dst == first.Dst
            && second.HasRegisterSource == first.HasRegisterSource
            && (first.HasRegisterSource ? second.Src == first.Src : second.Imm == first.Imm)
            && second.Target == pc + 4;
        int written = x.WrittenRegister;
        bool keepsCompared = written != first.Dst && (!first.HasRegisterSource || written != first.Src);
        if (!same || !IsPlainArithmetic(x) || !IsPlainArithmetic(y) || !keepsCompared)
        {
            return 0;
        }

        EmitConditionalJumpAt(pc, first, JumpTarget(pc + 2, pc + 4));
        EmitInstruction(pc + 1, x);
        EmitInstruction(pc + 3, y);
        return 4;
    }

    /// <summary>True for a one-slot ALU instruction that cannot fault or leave: add, sub, mul, and, or, xor, shifts, neg, mov.</summary>
    /// <summary>
    /// A conditional jump over a <c>ja</c> (<c>jcc +1; ja T</c>, the latch clang gives a loop whose exit test comes
    /// last): one jump on the inverted condition to T, where the two took a jump on the condition and a second one on
    /// the other way. Only where nothing else jumps to the <c>ja</c>, no instruction budget is counted (its segments
    /// start at the <c>ja</c>), no loop guard is involved, and the <c>ja</c> is forward or its backward jump needs no
    /// poll (code whose helper calls return to the host and which does not yield: every cycle calls a helper, after
    /// which the host checks for cancellation), so nothing that ran only on the way through the <c>ja</c> is lost.
    /// Returns the slots covered (2), or 0 to emit the two as they are.
    /// </summary>
    private int EmitJumpOverJa(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var first = code[pc];
        if (InGuardCopy || segments is not null || !first.IsConditionalJump || first.Target != pc + 2 || pc + 2 >= program.Length
            || code[pc + 1].Operation is not (Operation.Ja or Operation.Ja32) || JumpSources[pc + 1] != 0
            || guardSites.ContainsKey(pc + 1) || InGuardedLoop(pc) || InGuardedLoop(pc + 1))
        {
            return 0;
        }

        var ja = code[pc + 1];
        if (ja.Target <= pc + 1 && (directBody || yieldInterval > 0 || !helpersReturn))
        {
            return 0;
        }

        var (d, src) = ComparedRegisters(pc, first);
        EmitCompare(first, d, src);
        EmitJumpOnFlags(first.Operation, JumpTarget(pc + 1, ja.Target), inverted: true);
        return 2;
    }

    private static bool IsPlainArithmetic(DecodedInstruction insn) =>
        insn.Operation is Operation.Add or Operation.Sub or Operation.Mul or Operation.And or Operation.Or or Operation.Xor
            or Operation.Lsh or Operation.Rsh or Operation.Arsh or Operation.Neg or Operation.Mov
        && insn.Dst != 10;

    /// <summary>True when a guarded loop (<see cref="guardSites"/>) holds <paramref name="pc"/>: its copies and exits add ways in.</summary>
    private bool InGuardedLoop(int pc)
    {
        foreach (var site in guardSites.Values)
        {
            if (site.Loop.Contains(pc))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>By pc: the number of jumps whose target it is, plus one for a function start (calls and callbacks enter there).</summary>
    private int[] JumpSources
    {
        get
        {
            if (jumpSources is null)
            {
                var counts = new int[program.Length + 1];
                foreach (var insn in program.Decoded)
                {
                    if (insn.IsJump)
                    {
                        counts[insn.Target]++;
                    }
                }

                foreach (var function in program.Functions)
                {
                    counts[function.Start]++;
                }

                jumpSources = counts;
            }

            return jumpSources;
        }
    }
}
