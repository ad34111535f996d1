using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// If-conversion: a conditional jump over a short run of register arithmetic becomes the run computed into the scratch
/// registers, the jump's compare, and one <c>cmov</c> per register the run writes, on the jump's negated condition (as
/// clang -O2 compiles the steps of log2's binary search). Three shapes, each with a run of one to
/// <see cref="MaxConvertedRun"/> instructions:
/// <list type="bullet">
/// <item><c>if (c) goto E; X1..Xk; E:</c> (a forward jump over the run);</item>
/// <item><c>if (c) goto +1; X; if (c) goto +1; Y</c> (the same jump twice around X, see <see cref="EmitRepeatedCompare"/>): X and Y as one run;</item>
/// <item><c>if (c) goto T; X1..Xk; ja T</c> (both ways end at T, e.g. a loop's latch): the run, then the <c>ja</c> as always.</item>
/// </list>
/// A run holds only one-slot add, sub, mul, and, or, xor, neg, mov and shifts by a constant, none writing r10: they
/// cannot fault, leave, touch memory or need rcx for a count. Nothing may enter the run but its first instruction (no
/// label or budget segment inside it), nor, in the repeated shape, the second jump but through the first; no guarded
/// loop may hold any of it (its copies lay blocks out in another order); the <c>ja</c> of the third shape starts no
/// budget segment (the jump's way to T would pay for it). Only rcx, rdx, r11 and the flags change before the commit,
/// the run reads the eBPF registers as they were at the jump, and each written register ends with the value the
/// branchy code gives it: its old one when the jump is taken, the run's result otherwise. So every fact the check
/// plan proved about the registers after the join still holds (the run's values are computed on both ways but
/// committed only on the run's own), and the rest of the code sees the same eBPF state at every label.
/// </summary>
/// <remarks>
/// The rule is to convert every such shape, whether or not the branch is predictable (the compiler cannot tell): a
/// converted diamond costs a copy and an operation per instruction and a <c>cmov</c> per register on the data's path,
/// where a well-predicted branch costs nothing there. Measured on log2 (README, "If-conversion (x64)"): with input of
/// one magnitude (every branch always the same way) about 1.14x slower, with the workload's random magnitudes about
/// 1.6x faster; clang -O2 makes the same choice for log2's native code.
/// </remarks>
internal sealed partial class X64Compiler
{
    /// <summary>The longest run of instructions a converted jump skips.</summary>
    private const int MaxConvertedRun = 3;

    /// <summary>The registers a converted run computes in; no eBPF register lives in them and no check is open across the run.</summary>
    private static readonly AssemblerRegister64[] ConversionScratch = [rcx, rdx, r11];

    /// <summary>
    /// The if-converted translation of the conditional jump at <paramref name="pc"/> and its run (see the class
    /// summary): returns the slots it covers (the jump and the run, and the second jump of the repeated shape), or 0
    /// (nothing emitted) when no shape is there or the run needs more than the scratch registers.
    /// </summary>
    private int EmitIfConverted(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var jump = code[pc];
        if (InGuardCopy || !jump.IsConditionalJump || InGuardedLoop(pc) || FindDiamond(pc, code) is not var (run, covered))
        {
            return 0;
        }

        var plan = ConversionPlan.Create(run, code);
        if (plan is null)
        {
            return 0;
        }

        foreach (var step in plan.Steps)
        {
            EmitConversionStep(step);
        }

        var (d, src) = ComparedRegisters(pc, jump);
        EmitCompare(jump, d, src);
        foreach (var (register, value) in plan.Commits)
        {
            EmitCommitUnless(jump.Operation, register, value);
        }

        return covered;
    }

    /// <summary>
    /// The run of the conditional jump at <paramref name="pc"/> (pcs of the instructions that execute when it is not
    /// taken) and the slots the converted translation covers, or null when none of the three shapes is there.
    /// </summary>
    private (int[] Run, int Covered)? FindDiamond(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var jump = code[pc];
        int target = jump.Target;

        // if (c) goto +1; X; if (c) goto +1; Y: the second jump's only way in is the first, and X keeps c.
        if (target == pc + 2 && pc + 4 < program.Length && code[pc + 2].IsConditionalJump && IsRepeat(jump, code[pc + 2], pc + 4)
            && JumpSources[pc + 2] == 1 && (segments is null || segments.LengthAt(pc + 2) == 0)
            && !renamedCompares.ContainsKey(pc) && !renamedCompares.ContainsKey(pc + 2)
            && RunConverts(pc + 1, 1, code) && RunConverts(pc + 3, 1, code) && !InGuardedLoop(pc + 2) && KeepsCompared(jump, code[pc + 1]))
        {
            return ([pc + 1, pc + 3], 4);
        }

        // if (c) goto E; X1..Xk; E:
        int skipped = target - pc - 1;
        if (skipped is >= 1 and <= MaxConvertedRun && RunConverts(pc + 1, skipped, code))
        {
            return (Enumerable.Range(pc + 1, skipped).ToArray(), skipped + 1);
        }

        // if (c) goto T; X1..Xk; ja T: the ja is emitted after the conversion as always.
        for (int k = 1; k <= MaxConvertedRun && pc + k + 1 < program.Length; k++)
        {
            var ja = code[pc + k + 1];
            if (ja.Operation is Operation.Ja or Operation.Ja32 && ja.Target == target && RunConverts(pc + 1, k, code)
                && (segments is null || segments.LengthAt(pc + k + 1) == 0) && !InGuardedLoop(pc + k + 1))
            {
                return (Enumerable.Range(pc + 1, k).ToArray(), k + 1);
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="second"/> is <paramref name="first"/> again (operation, width, operands) and goes to <paramref name="end"/>.</summary>
    private static bool IsRepeat(DecodedInstruction first, DecodedInstruction second, int end) =>
        second.Operation == first.Operation && second.Is64 == first.Is64 && second.Dst == first.Dst
        && second.HasRegisterSource == first.HasRegisterSource
        && (first.HasRegisterSource ? second.Src == first.Src : second.Imm == first.Imm)
        && second.Target == end;

    /// <summary>True when <paramref name="insn"/> writes neither register the conditional jump <paramref name="jump"/> compares.</summary>
    private static bool KeepsCompared(DecodedInstruction jump, DecodedInstruction insn) =>
        insn.WrittenRegister != jump.Dst && (!jump.HasRegisterSource || insn.WrittenRegister != jump.Src);

    /// <summary>True when the <paramref name="count"/> instructions from <paramref name="from"/> may form a converted run:
    /// each convertible (see <see cref="Converts"/>), none entered but from the one before it, none in a guarded loop.</summary>
    private bool RunConverts(int from, int count, ReadOnlySpan<DecodedInstruction> code)
    {
        for (int pc = from; pc < from + count; pc++)
        {
            if (!FusesWithPrevious(pc) || !Converts(code[pc]) || InGuardedLoop(pc))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True for an instruction a converted run may hold: one-slot arithmetic that cannot fault (see
    /// <see cref="IsPlainArithmetic"/>), shifts by a constant only (a count in a register needs rcx).</summary>
    private static bool Converts(DecodedInstruction insn) =>
        IsPlainArithmetic(insn) && !(insn.Operation is Operation.Lsh or Operation.Rsh or Operation.Arsh && insn.HasRegisterSource);

    /// <summary>One step of a converted run's computation (see <see cref="ConversionPlan"/>).</summary>
    private void EmitConversionStep(ConversionStep step)
    {
        var target = new AssemblerRegister64(step.Target);
        var target32 = new AssemblerRegister32(step.Target.GetFullRegister32());
        AssemblerRegister64? from = step.From == Register.None ? null : new AssemblerRegister64(step.From);
        switch (step.Kind)
        {
            case ConversionKind.Copy when step.Is64:
                a.mov(target, from!.Value);
                break;
            case ConversionKind.Copy:
                a.mov(target32, new AssemblerRegister32(step.From.GetFullRegister32()));
                break;
            case ConversionKind.Constant:
                MovConstant(target, step.Constant);
                break;
            default:
                EmitConvertedOperation(step.Operation, step.Is64, target, step.HasRegisterSource ? from : null, step.Imm);
                break;
        }
    }

    /// <summary><paramref name="target"/> op= <paramref name="source"/> (or the immediate when it is null), in the width <paramref name="is64"/> gives.</summary>
    private void EmitConvertedOperation(Operation operation, bool is64, AssemblerRegister64 target, AssemblerRegister64? source, int imm)
    {
        if (operation is Operation.Lsh or Operation.Rsh or Operation.Arsh)
        {
            EmitShiftByConstant(operation, is64, target, imm);
        }
        else
        {
            EmitArithmetic(operation, is64, target, source, imm);
        }
    }

    /// <summary><paramref name="register"/> = <paramref name="value"/> unless the condition of a jump with <paramref name="operation"/> holds (on the flags of its compare).</summary>
    private void EmitCommitUnless(Operation operation, Register register, Register value)
    {
        var r = new AssemblerRegister64(register);
        var v = new AssemblerRegister64(value);
        switch (operation)
        {
            case Operation.Jeq: a.cmovne(r, v); break;
            case Operation.Jne: a.cmove(r, v); break;
            case Operation.Jset: a.cmove(r, v); break;
            case Operation.Jgt: a.cmovbe(r, v); break;
            case Operation.Jge: a.cmovb(r, v); break;
            case Operation.Jlt: a.cmovae(r, v); break;
            case Operation.Jle: a.cmova(r, v); break;
            case Operation.Jsgt: a.cmovle(r, v); break;
            case Operation.Jsge: a.cmovl(r, v); break;
            case Operation.Jslt: a.cmovge(r, v); break;
            default: a.cmovg(r, v); break;
        }
    }

    private enum ConversionKind
    {
        /// <summary>Target = From (a 32-bit copy zero-extends).</summary>
        Copy,

        /// <summary>Target = Constant.</summary>
        Constant,

        /// <summary>Target op= From (or Imm).</summary>
        Operation,
    }

    /// <summary>One x86 instruction of a converted run's computation; Target is always a scratch register.</summary>
    private readonly record struct ConversionStep(
        ConversionKind Kind, Register Target, Register From, bool Is64, Operation Operation, bool HasRegisterSource, int Imm, ulong Constant);

    /// <summary>
    /// How a run is computed without changing an eBPF register: each eBPF register has a location, at first its own host
    /// register; a write goes to a scratch register the written register owns alone (copying its old value first when
    /// the operation reads it), and a 64-bit move only points the destination at the source's location, when that is a
    /// scratch register or the host register of a register the run never writes (whose value then stays put until
    /// every commit is done). The commits move each written register's final location into its host register; they
    /// read only scratch registers and registers no commit writes, so their order does not matter.
    /// </summary>
    private sealed class ConversionPlan
    {
        private readonly Register[] location = new Register[11];
        private readonly int[] uses = new int[3];
        private readonly HashSet<int> writes;

        private ConversionPlan(HashSet<int> writes)
        {
            this.writes = writes;
            for (int r = 0; r < location.Length; r++)
            {
                location[r] = R64(r).Value;
            }
        }

        /// <summary>The computation, in order.</summary>
        public List<ConversionStep> Steps { get; } = [];

        /// <summary>By written register: its host register and the location of its value after the run.</summary>
        public List<(Register Register, Register Value)> Commits { get; } = [];

        /// <summary>The plan for the instructions at <paramref name="run"/>, or null when it needs more than the scratch registers.</summary>
        public static ConversionPlan? Create(int[] run, ReadOnlySpan<DecodedInstruction> code)
        {
            var writes = new HashSet<int>();
            foreach (int pc in run)
            {
                writes.Add(code[pc].Dst);
            }

            var plan = new ConversionPlan(writes);
            foreach (int pc in run)
            {
                if (!plan.Add(code[pc]))
                {
                    return null;
                }
            }

            foreach (int r in writes.Order())
            {
                if (plan.location[r] != R64(r).Value)
                {
                    plan.Commits.Add((R64(r).Value, plan.location[r]));
                }
            }

            return plan;
        }

        private bool Add(DecodedInstruction insn)
        {
            int d = insn.Dst;
            int s = insn.Src;
            bool reg = insn.HasRegisterSource;
            var op = insn.Operation;
            if (op == Operation.Mov && !reg)
            {
                ulong value = insn.Is64 ? (ulong)(long)insn.Imm : (uint)insn.Imm;
                return Own(d, keep: false) is { } constant && Emit(ConversionKind.Constant, constant, Register.None, insn.Is64, value);
            }

            if (op == Operation.Mov && insn.Is64)
            {
                return s == d || Point(d, s);
            }

            if (op == Operation.Mov)
            {
                // mov32 d, s: the low half of s, zero-extended (d's own when s is d).
                var from = location[s];
                return Own(d, keep: s == d) is { } copy && Emit(ConversionKind.Copy, copy, s == d ? copy : from, is64: false);
            }

            if (op is Operation.Lsh or Operation.Rsh or Operation.Arsh && (insn.Imm & (insn.Is64 ? 63 : 31)) == 0)
            {
                // A shift by 0 leaves d (a 32-bit one zero-extends it).
                return insn.Is64 || (Own(d, keep: true) is { } zeroExtended && Emit(ConversionKind.Copy, zeroExtended, zeroExtended, is64: false));
            }

            if (Own(d, keep: true) is not { } target)
            {
                return false;
            }

            Steps.Add(new ConversionStep(ConversionKind.Operation, target, reg ? location[s] : Register.None, insn.Is64, op, reg, insn.Imm, 0));
            return true;
        }

        private bool Emit(ConversionKind kind, Register target, Register from, bool is64, ulong constant = 0)
        {
            Steps.Add(new ConversionStep(kind, target, from, is64, Operation.Mov, false, 0, constant));
            return true;
        }

        /// <summary>d = s (64 bits), without an instruction where it can: d takes s's location. False when a copy is
        /// needed and no scratch register is left.</summary>
        private bool Point(int d, int s)
        {
            var from = location[s];
            int scratch = ScratchIndex(from);
            if (scratch < 0 && writes.Any(w => R64(w).Value == from))
            {
                // s's value is in the host register of a register the run writes, which a commit will change: copy it.
                return Own(d, keep: false) is { } copy && Emit(ConversionKind.Copy, copy, from, true);
            }

            Release(d);
            location[d] = from;
            if (scratch >= 0)
            {
                uses[scratch]++;
            }

            return true;
        }

        /// <summary>A scratch register d owns alone and that holds d's value when <paramref name="keep"/> (one is taken and
        /// filled when d has none), or null when all three are in use.</summary>
        private Register? Own(int d, bool keep)
        {
            var current = location[d];
            int scratch = ScratchIndex(current);
            if (scratch >= 0 && uses[scratch] == 1)
            {
                return current;
            }

            int free = Array.IndexOf(uses, 0);
            if (free < 0)
            {
                return null;
            }

            var taken = ConversionScratch[free].Value;
            if (keep)
            {
                Emit(ConversionKind.Copy, taken, current, is64: true);
            }

            Release(d);
            location[d] = taken;
            uses[free] = 1;
            return taken;
        }

        private void Release(int d)
        {
            int scratch = ScratchIndex(location[d]);
            if (scratch >= 0)
            {
                uses[scratch]--;
            }
        }

        private static int ScratchIndex(Register register) => Array.FindIndex(ConversionScratch, s => s.Value == register);
    }
}
