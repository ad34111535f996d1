using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Fused translations of instruction sequences clang emits for address arithmetic: <c>mov64 d, s; add64 d, t|imm</c>
/// becomes one <c>lea</c>, and when the next instruction loads through <c>d</c> and the sum is dead once the address is
/// formed (<c>ldx d, [d + off]</c>, or <c>ldx x, [d + off]</c> with <c>d</c> written before any read afterwards, see
/// <see cref="RegisterLiveness"/>) the load takes the sum as its addressing mode and the <c>lea</c> disappears. The instructions of a sequence stay separate when any but the first is a jump
/// target or starts a budget segment, so every entry into the code still sees the eBPF state it expects. Applied
/// when memory checks are off only (see <see cref="EmitFused"/>).
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>
    /// Emits the fused translation of the sequence starting at <paramref name="pc"/> and returns the number of slots it
    /// covers, or returns 0 (nothing emitted) when no fusion applies.
    /// </summary>
    private int EmitFused(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        var mov = code[pc];

        // Only without memory checks: with them, memcpy's checked loop measured 1.9x slower fused (not understood yet).
        if (checks || mov.Operation != Operation.Mov || !mov.Is64 || !mov.HasRegisterSource || mov.Dst == mov.Src || mov.Dst == 10
            || !FusesWithPrevious(pc + 1))
        {
            return 0;
        }

        var add = code[pc + 1];
        if (add.Operation != Operation.Add || !add.Is64 || add.Dst != mov.Dst)
        {
            return 0;
        }

        int d = mov.Dst;
        var source = R64(mov.Src);
        long displacement = add.HasRegisterSource ? 0 : add.Imm;

        // add64 d, d after the move doubles the source.
        AssemblerMemoryOperand Sum(long extra) => add.HasRegisterSource
            ? __[source + R64(add.Src == d ? mov.Src : add.Src) + (int)extra]
            : __[source + (int)(displacement + extra)];

        if (FusesWithPrevious(pc + 2))
        {
            var load = code[pc + 2];
            long total = displacement + load.Offset;
            if (load.Operation is Operation.Load or Operation.LoadSignExtend && load.Src == d
                && (load.Dst == d || !liveness.IsLiveAt(pc + 3, d))
                && total is >= int.MinValue and <= int.MaxValue)
            {
                var address = Sum(load.Offset);
                CheckAccess(pc + 2, address, load.AccessSize, write: false);
                EmitLoadFrom(load, Sized(load.AccessSize, address));
                return 3;
            }
        }

        a.lea(R64(d), Sum(0));
        return 2;
    }

    /// <summary>True when the instruction at <paramref name="pc"/> exists and may share a translation with the one before it.</summary>
    private bool FusesWithPrevious(int pc) =>
        pc < program.Length && !hasLabel[pc] && (segments is null || segments.LengthAt(pc) == 0);
}
