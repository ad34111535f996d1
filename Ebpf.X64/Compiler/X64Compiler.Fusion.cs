using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Fused translations of the address arithmetic clang emits: <c>mov64 d, s; add64 d, t|imm</c> becomes one <c>lea</c>,
/// or nothing when the sum's only use is as the base of a load or store a few instructions on (see
/// <see cref="SumAccess"/>): that access then takes <c>[s + t + displacement]</c> as its addressing mode, as RyuJIT
/// forms it for the IL engine. The instructions of a sequence stay separate when any but the first is a jump target
/// or starts a budget segment, so every entry into the code still sees the eBPF state it expects. Applied with memory
/// checks on as off (a checked access takes the same address expression, and its check compares that address, so a
/// fault names the access' pc and the sum), in the body and in the guarded loops' unchecked copies alike: a checked loop
/// whose accesses are proven or guarded runs the unchecked loop's instructions.
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>How many instructions may sit between the arithmetic and the access that takes its sum.</summary>
    private const int MaxSumGap = 4;

    /// <summary>
    /// By access pc: the sum (registers s and t, t = -1 for none, and a displacement) that replaces the base register of
    /// that access, set where the arithmetic was left out and taken by <see cref="CheckedAddress"/>.
    /// </summary>
    private readonly Dictionary<int, (int Source, int Index, long Displacement)> pendingSums = [];

    /// <summary>
    /// Emits the fused translation of the sequence starting at <paramref name="pc"/> and returns the number of slots it
    /// covers, or returns 0 (nothing emitted) when no fusion applies.
    /// </summary>
    private int EmitFused(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var mov = code[pc];

        if (mov.Operation != Operation.Mov || !mov.Is64 || !mov.HasRegisterSource || mov.Dst == mov.Src
            || mov.Dst == 10 || !FusesWithPrevious(pc + 1))
        {
            return 0;
        }

        var add = code[pc + 1];
        if (add.Operation != Operation.Add || !add.Is64 || add.Dst != mov.Dst)
        {
            return 0;
        }

        int d = mov.Dst;
        int s = mov.Src;

        // add64 d, d after the move doubles the source.
        int t = !add.HasRegisterSource ? -1 : add.Src == d ? s : add.Src;
        long displacement = add.HasRegisterSource ? 0 : add.Imm;
        if (SumAccess(pc + 2, code, d, s, t, ref displacement) is int access)
        {
            pendingSums[access] = (s, t, displacement);
            return 2;
        }

        a.lea(R64(d), SumOperand(s, t, displacement));
        return 2;
    }

    /// <summary>
    /// The pc of the load or store through <paramref name="d"/> (= s + t + <paramref name="displacement"/>) that may take
    /// the sum as its address, or null. From <paramref name="from"/> on, at most <see cref="MaxSumGap"/> instructions
    /// may come first, each simple (add, sub, and, or, xor, mov, or a load), none reading <paramref name="d"/> or writing
    /// it, <paramref name="s"/> or <paramref name="t"/>, except <c>add64 s|t, imm</c>, which the displacement makes up
    /// for (clang moves the induction variable's increment between the sum and the load). The access must read
    /// <paramref name="d"/> only as its base, and <paramref name="d"/> must be dead after it (or be the load's
    /// destination), so that no one sees that it never held the sum.
    /// </summary>
    private int? SumAccess(int from, ReadOnlySpan<DecodedInstruction> code, int d, int s, int t, ref long displacement)
    {
        long adjusted = displacement;
        for (int k = from; k <= from + MaxSumGap && FusesWithPrevious(k); k++)
        {
            var insn = code[k];
            bool load = insn.Operation is Operation.Load or Operation.LoadSignExtend;
            bool deadAfter = k + 1 >= program.Length || !liveness.IsLiveAt(k + 1, d);
            if (load && insn.Src == d)
            {
                return (insn.Dst == d || deadAfter) && FitsDisplacement(adjusted + insn.Offset) ? Take(k, ref displacement, adjusted) : null;
            }

            if (insn.Operation == Operation.Store && insn.Dst == d)
            {
                return (!insn.HasRegisterSource || insn.Src != d) && deadAfter && FitsDisplacement(adjusted + insn.Offset)
                    ? Take(k, ref displacement, adjusted) : null;
            }

            if (insn.Operation == Operation.Add && insn.Is64 && !insn.HasRegisterSource && insn.Dst != d && s != t
                && (insn.Dst == s || insn.Dst == t))
            {
                adjusted -= insn.Imm;
                continue;
            }

            if (!IsSimpleWithout(insn, d) || insn.Dst == s || insn.Dst == t)
            {
                return null;
            }
        }

        return null;

        static int Take(int pc, ref long displacement, long adjusted)
        {
            displacement = adjusted;
            return pc;
        }
    }

    /// <summary>By conditional-jump pc: a register the jump compares and the one it compares instead, set where the
    /// move between them was left out (see <see cref="EmitCompareCopy"/>).</summary>
    private readonly Dictionary<int, (int Copy, int Source)> renamedCompares = [];

    /// <summary>
    /// <c>mov64 d, s</c> whose copy only a conditional jump a few instructions on reads, with <c>d</c> dead on both of
    /// its ways (clang's strcmp: <c>r6 = r2; w4 = w2; if w6 != w5</c>): emits nothing and has the jump compare
    /// <c>s</c>; returns 1, or 0 (nothing emitted) when the copy must stay. The instructions between must be simple
    /// (see <see cref="SumAccess"/>), leave <c>s</c> and <c>d</c> unwritten and not read <c>d</c>. Applied where
    /// <see cref="EmitFused"/> is.
    /// </summary>
    private int EmitCompareCopy(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var mov = code[pc];
        if (mov.Operation != Operation.Mov || !mov.Is64 || !mov.HasRegisterSource || mov.Dst == mov.Src
            || mov.Dst == 10 || mov.Src == 10)
        {
            return 0;
        }

        int d = mov.Dst;
        int s = mov.Src;
        for (int k = pc + 1; k <= pc + 1 + MaxSumGap && FusesWithPrevious(k); k++)
        {
            var insn = code[k];
            if (insn.IsConditionalJump)
            {
                bool compares = insn.Dst == d || (insn.HasRegisterSource && insn.Src == d);
                bool deadAfter = (k + 1 >= program.Length || !liveness.IsLiveAt(k + 1, d)) && !liveness.IsLiveAt(insn.Target, d);

                // A yield at a backward jump may resume at another translation of the jump that compares d itself
                // (a counting copy's: the checked loop's same jump, or the jump again on its own registers).
                bool yieldsFromCopy = yieldInterval > 0 && insn.Target <= k;
                if (!compares || !deadAfter || yieldsFromCopy)
                {
                    return 0;
                }

                renamedCompares[k] = (d, s);
                return 1;
            }

            if (!IsSimpleWithout(insn, d) || insn.Dst == s)
            {
                return 0;
            }
        }

        return 0;
    }

    /// <summary>
    /// True when <paramref name="insn"/> may sit between an instruction left out and the one that takes its place: an
    /// add, sub, and, or, xor, mov or load (one x86 instruction each, plus a check that changes only rcx, rdx and r11),
    /// which neither reads nor writes <paramref name="d"/>.
    /// </summary>
    private static bool IsSimpleWithout(DecodedInstruction insn, int d)
    {
        bool load = insn.Operation is Operation.Load or Operation.LoadSignExtend;
        bool simple = load || insn.Operation is Operation.Add or Operation.Sub or Operation.And or Operation.Or or Operation.Xor or Operation.Mov;
        bool readsD = (insn.HasRegisterSource && insn.Src == d) || (load && insn.Src == d) || (!load && insn.Operation != Operation.Mov && insn.Dst == d);
        return simple && !readsD && insn.Dst != d;
    }

    private static bool FitsDisplacement(long value) => value is >= int.MinValue and <= int.MaxValue;

    /// <summary>The operand <c>[s + t + displacement]</c> (t = -1: none).</summary>
    private static AssemblerMemoryOperand SumOperand(int s, int t, long displacement) =>
        t < 0 ? __[R64(s) + (int)displacement] : __[R64(s) + R64(t) + (int)displacement];

    /// <summary>True when the instruction at <paramref name="pc"/> exists and may share a translation with the one before it.</summary>
    private bool FusesWithPrevious(int pc) =>
        pc < program.Length && !hasLabel[pc] && (segments is null || segments.LengthAt(pc) == 0);
}
