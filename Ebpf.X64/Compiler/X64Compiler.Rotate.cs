using System.Runtime.Intrinsics.X86;
using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Rotations. eBPF has no rotate instruction, so clang spells <c>rol(x, k)</c> with two shifts and an or through a
/// temporary: <c>mov t, x; rsh t, 64-k; lsh x, k; or x, t</c> (in place) or <c>mov t, x; rsh t, 64-k; mov d, x;
/// lsh d, k; or d, t</c> (into another register), either shift first, sometimes with one unrelated instruction in
/// between. Such a sequence becomes one <c>rol</c> (or BMI2 <c>rorx</c>, which leaves its source alone); the temporary
/// is still computed unless no path after the sequence reads it (<see cref="RegisterLiveness"/>), so every register
/// that may be read holds what the eBPF code leaves in it.
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>
    /// Emits the rotation starting at <paramref name="pc"/> and returns the number of slots it covers, or returns 0
    /// (nothing emitted) when none starts there.
    /// </summary>
    private int EmitRotate(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var first = code[pc];
        if (first.Operation != Operation.Mov || !first.Is64 || !first.HasRegisterSource || first.Dst == first.Src
            || first.Dst == 10 || first.Src == 10)
        {
            return 0;
        }

        int t = first.Dst;
        int x = first.Src;

        // The sequence's instructions after the first, at most one of them unrelated to the rotation.
        Span<int> core = stackalloc int[4];
        int coreCount = 0;
        int other = -1;
        int end = pc + 1;
        for (; end < program.Length && coreCount < 4 && FusesWithPrevious(end); end++)
        {
            var insn = code[end];
            if (coreCount < 4 && FitsRotation(insn, coreCount, t, x, core, code))
            {
                core[coreCount++] = end;
                if (IsRotationComplete(coreCount, code, core))
                {
                    end++;
                    break;
                }
            }
            else if (other < 0)
            {
                other = end;
            }
            else
            {
                return 0;
            }
        }

        if (coreCount < 3 || !IsRotationComplete(coreCount, code, core))
        {
            return 0;
        }

        bool inPlace = coreCount == 3;
        int d = inPlace ? x : code[core[1]].Dst;
        var tShift = code[core[0]];
        var dShift = code[core[inPlace ? 1 : 2]];
        if (other >= 0 && !IsIndependent(code[other], other, t, x, d, inPlace ? core[1] : int.MaxValue))
        {
            return 0;
        }

        int left = dShift.Operation == Operation.Lsh ? dShift.Imm : 64 - dShift.Imm;
        if (other >= 0)
        {
            EmitInstruction(other, code[other]);
        }

        if (liveness.IsLiveAt(end, t))
        {
            a.mov(R64(t), R64(x));
            if (tShift.Operation == Operation.Lsh)
            {
                a.shl(R64(t), (byte)tShift.Imm);
            }
            else
            {
                a.shr(R64(t), (byte)tShift.Imm);
            }
        }

        if (d == x)
        {
            a.rol(R64(d), (byte)left);
        }
        else if (Bmi2.X64.IsSupported)
        {
            a.rorx(R64(d), R64(x), (byte)(64 - left));
        }
        else
        {
            a.mov(R64(d), R64(x));
            a.rol(R64(d), (byte)left);
        }

        return end - pc;
    }

    /// <summary>
    /// True when <paramref name="insn"/> is the next instruction of a rotation of x through t, after the
    /// <paramref name="count"/> found so far: the shift of t, then either the opposite shift of x and <c>or x, t</c>, or
    /// <c>mov d, x</c>, the opposite shift of d and <c>or d, t</c>.
    /// </summary>
    private static bool FitsRotation(DecodedInstruction insn, int count, int t, int x, ReadOnlySpan<int> core, ReadOnlySpan<DecodedInstruction> code)
    {
        if (!insn.Is64)
        {
            return false;
        }

        switch (count)
        {
            case 0:
                return IsConstantShift(insn) && insn.Dst == t;
            case 1:
                // In place: the opposite shift of x; into d: mov d, x.
                return (IsConstantShift(insn) && insn.Dst == x && Complements(code[core[0]], insn))
                    || (insn.Operation == Operation.Mov && insn.HasRegisterSource && insn.Src == x && insn.Dst != x && insn.Dst != t && insn.Dst != 10);
            case 2:
                var second = code[core[1]];
                return second.Operation == Operation.Mov
                    ? IsConstantShift(insn) && insn.Dst == second.Dst && Complements(code[core[0]], insn)
                    : IsOr(insn, x, t);
            default:
                return code[core[1]].Operation == Operation.Mov && IsOr(insn, code[core[1]].Dst, t);
        }
    }

    /// <summary>True when the <paramref name="count"/> instructions in <paramref name="core"/> end a rotation.</summary>
    private static bool IsRotationComplete(int count, ReadOnlySpan<DecodedInstruction> code, ReadOnlySpan<int> core) =>
        (count == 3 && code[core[2]].Operation == Operation.Or) || count == 4;

    /// <summary>An ALU64 lsh or rsh by a constant 1-63.</summary>
    private static bool IsConstantShift(DecodedInstruction insn) =>
        insn.Operation is Operation.Lsh or Operation.Rsh && insn.Is64 && !insn.HasRegisterSource && insn.Imm is > 0 and < 64;

    /// <summary>True when one shift is left and the other right and their counts add up to 64.</summary>
    private static bool Complements(DecodedInstruction one, DecodedInstruction other) => one.Operation != other.Operation && one.Imm + other.Imm == 64;

    /// <summary><c>or64 d, t</c>.</summary>
    private static bool IsOr(DecodedInstruction insn, int d, int t) =>
        insn.Operation == Operation.Or && insn.Is64 && insn.HasRegisterSource && insn.Dst == d && insn.Src == t;

    /// <summary>
    /// True when <paramref name="insn"/> (at <paramref name="pc"/>, inside a rotation of x through t into d whose first
    /// change of x is at <paramref name="xChanged"/>) may run before the whole rotation: an ALU instruction that
    /// writes none of them, reads neither t nor d (unless d is x), and reads x only before it changes.
    /// </summary>
    private static bool IsIndependent(DecodedInstruction insn, int pc, int t, int x, int d, int xChanged)
    {
        if (insn.Operation is < Operation.Add or > Operation.Bswap64 || insn.Dst is 10)
        {
            return false;
        }

        int dst = insn.Dst;
        int src = insn.HasRegisterSource ? insn.Src : -1;
        if (dst == t || dst == x || dst == d || src == t || (src == d && d != x))
        {
            return false;
        }

        return src != x || pc < xChanged;
    }
}
