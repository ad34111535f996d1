using Ebpf.Isa;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Which eBPF registers may still be read, slot by slot: the classic backward data flow over each function's control
/// flow, as bit masks (bit r for register r). The compiler uses it to leave out work whose result nobody reads: a
/// rotation's temporary, and the registers a helper call site saves and reloads around a return to the host.
/// Conservative where it must be: a local call may read every register (callee and caller share them), the exit of a
/// local function hands r0-r5 back, an atomic operation reads r0 as well, and a register is only ever "dead" when every
/// path writes it before reading it. Errors (memory violations, budget, stops) leave no register observable.
/// </summary>
internal sealed class RegisterLiveness
{
    /// <summary>r0-r9: everything a local call may read.</summary>
    private const ushort AllRegisters = 0x3FF;

    /// <summary>r0-r5: what the exit of a local function hands back to its caller.</summary>
    private const ushort ReturnedByLocalFunction = 0x3F;

    /// <summary>r1-r5: the helper arguments.</summary>
    private const ushort Arguments = 0x3E;

    private readonly ushort[] liveIn;

    private RegisterLiveness(ushort[] liveIn) => this.liveIn = liveIn;

    /// <summary>Computes the liveness of every slot of <paramref name="program"/>.</summary>
    public static RegisterLiveness Compute(EbpfProgram program)
    {
        var code = program.Decoded;
        int n = code.Length;
        var liveIn = new ushort[n + 1];
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int pc = n - 1; pc >= 0; pc--)
            {
                var insn = code[pc];
                if (insn.Operation == Operation.None)
                {
                    continue;
                }

                ushort value = Transfer(program, pc, insn, liveIn);
                if (value != liveIn[pc])
                {
                    liveIn[pc] = value;
                    changed = true;
                }
            }
        }

        return new RegisterLiveness(liveIn);
    }

    /// <summary>True when register <paramref name="r"/> may be read from slot <paramref name="pc"/> on (before it is written).</summary>
    public bool IsLiveAt(int pc, int r) => (liveIn[pc] & (1 << r)) != 0;

    /// <summary>The registers that may be read from slot <paramref name="pc"/> on, as a mask.</summary>
    public ushort LiveAt(int pc) => liveIn[pc];

    private static ushort Transfer(EbpfProgram program, int pc, DecodedInstruction insn, ushort[] liveIn)
    {
        int next = pc + insn.Length;
        ushort after = next < liveIn.Length ? liveIn[next] : (ushort)0;
        ushort src = insn.HasRegisterSource ? Bit(insn.Src) : (ushort)0;
        ushort dst = Bit(insn.Dst);
        switch (insn.Operation)
        {
            case Operation.Exit:
                return program.FunctionIndexOf(pc) == 0 ? Bit(0) : ReturnedByLocalFunction;
            case Operation.Ja:
            case Operation.Ja32:
                return liveIn[insn.Target];
            case >= Operation.Jeq and <= Operation.Jsle:
                return (ushort)(after | liveIn[insn.Target] | dst | src);
            case Operation.CallLocal:
                return AllRegisters;
            case Operation.CallHelper:
                return (ushort)((after & ~Bit(0)) | Arguments);
            case Operation.CallX:
                return (ushort)((after & ~Bit(0)) | Arguments | dst);
            case Operation.LoadAbsolute:
                return (ushort)(after & ~Bit(0));
            case Operation.LoadIndirect:
                return (ushort)((after & ~Bit(0)) | Bit(insn.Src));
            case Operation.Lddw:
                return (ushort)(after & ~dst);
            case Operation.Load:
            case Operation.LoadSignExtend:
                return (ushort)((after & ~dst) | Bit(insn.Src));
            case Operation.Mov:
            case Operation.MovSx8:
            case Operation.MovSx16:
            case Operation.MovSx32:
                return (ushort)((after & ~dst) | src);
            case Operation.Store:
                return (ushort)(after | dst | src);
            case >= Operation.Add and <= Operation.Bswap64:
                return (ushort)(after | dst | src);
            default:
                // Atomics: the address, the source and r0 (cmpxchg compares with it); they write nothing fully.
                return (ushort)(after | dst | Bit(insn.Src) | Bit(0));
        }
    }

    private static ushort Bit(int r) => (ushort)(1 << (r & 15));
}
