using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf.Verification;

/// <summary>
/// The default policy verifier (rbpf's <c>verifier::check</c>, replaceable like rbpf's <c>set_verifier</c>).
/// <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/> runs it first and then
/// always enforces the structural rules (known opcodes, registers, no write to r10, complete <c>lddw</c>, jump and
/// call targets, functions, no fall-off); this verifier adds the policy on top:
/// <list type="bullet">
/// <item>every field RFC 9669 marks unused is zero, per instruction family: <c>src</c> of ALU/JMP immediate forms,
/// <c>imm</c> of register forms, <c>offset</c> of ALU operations (except <c>sdiv</c>/<c>smod</c>: 0 or 1, and
/// <c>movsx</c>: 0, 8, 16 or 32, not 32 in the 32-bit class), <c>src</c>/<c>imm</c>/<c>offset</c> of <c>neg</c>,
/// <c>src</c>/<c>offset</c> of byte swaps, <c>dst</c>/<c>src</c>/<c>imm</c> of <c>ja</c>, <c>dst</c>/<c>src</c>/<c>offset</c>
/// of <c>ja32</c>, <c>dst</c>/<c>offset</c> of <c>call</c>, <c>src</c>/<c>offset</c>/<c>imm</c> of <c>callx</c>, every field of
/// <c>exit</c>, <c>imm</c> of loads and register stores, <c>src</c> of immediate stores, <c>dst</c>/<c>offset</c> (and
/// <c>src</c> for <c>LD_ABS</c>) of legacy packet loads, <c>offset</c> of <c>lddw</c>, and opcode/dst/src/offset of
/// the second <c>lddw</c> slot;</item>
/// <item>defined values: byte-swap width 16, 32 or 64 (rbpf's <c>check_imm_endian</c>), <c>lddw</c> source 0-6,
/// atomic operation one of add/or/and/xor (with or without fetch), xchg, cmpxchg, <c>call</c> source 0 (helper) or
/// 1 (local function);</item>
/// <item>rbpf's length limit (<see cref="VerifierOptions.MaxSlots"/>) and "infinite loop" rule (a jump to itself),
/// and optionally its "last instruction is exit" rule (<see cref="VerifierOptions.RequireExitAtEnd"/>).</item>
/// </list>
/// Deliberate differences from rbpf: a <c>div</c> or <c>mod</c> by an immediate zero is accepted (RFC 9669 defines
/// it: the quotient is 0, the dividend is kept), rbpf's rejection of <c>mul64</c> by an immediate zero is not copied,
/// and shift immediates at or beyond the operand width are accepted (the count is masked); the conformance suite
/// expects all three to run.
/// </summary>
public sealed class Verifier : IVerifier
{
    /// <summary>Creates a verifier with the default options.</summary>
    public Verifier()
        : this(VerifierOptions.Default)
    {
    }

    /// <summary>Creates a verifier with the given options.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="VerifierOptions.MaxSlots"/> is not positive.</exception>
    public Verifier(VerifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSlots, nameof(options));
        Options = options;
    }

    /// <summary>The shared verifier with the default options.</summary>
    public static Verifier Default { get; } = new();

    /// <summary>The policy this verifier applies.</summary>
    public VerifierOptions Options { get; }

    /// <summary>
    /// Wraps an rbpf-style verifying function (<c>fn(&amp;[u8]) -> Result</c>) as an <see cref="IVerifier"/>:
    /// it receives the encoded program and returns null to accept it or the reason to reject it.
    /// </summary>
    public static IVerifier FromDelegate(ProgramCheck check) => new DelegateVerifier(check);

    /// <inheritdoc />
    /// <exception cref="EbpfVerificationException">The first rule the program breaks, with its pc and instruction.</exception>
    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
        int n = instructions.Length;
        if (n > Options.MaxSlots)
        {
            throw new EbpfVerificationException($"the program has {n} slots; this verifier allows at most {Options.MaxSlots}");
        }

        if (Options.RequireExitAtEnd && n > 0 && instructions[n - 1].OpCode != OpCodes.Exit)
        {
            throw new EbpfVerificationException(n - 1, instructions[n - 1], "the program does not end with exit");
        }

        for (int pc = 0; pc < n; pc++)
        {
            var insn = instructions[pc];
            if (!OpCodeTable.IsDefined(insn.OpCode))
            {
                continue; // reported by the structural check
            }

            switch (insn.Class)
            {
                case InstructionClass.Alu:
                case InstructionClass.Alu64:
                    CheckAlu(pc, insn);
                    break;
                case InstructionClass.Jmp:
                case InstructionClass.Jmp32:
                    CheckJump(pc, insn);
                    break;
                case InstructionClass.Ld:
                    if (insn.IsWide)
                    {
                        CheckLddw(instructions, pc);
                        pc++;
                    }
                    else
                    {
                        CheckPacketLoad(pc, insn);
                    }

                    break;
                case InstructionClass.Ldx:
                    Unused(pc, insn, InstructionFields.Imm);
                    break;
                case InstructionClass.St:
                    Unused(pc, insn, InstructionFields.Src);
                    break;
                default:
                    if (insn.AccessMode == AccessMode.Atomic)
                    {
                        CheckAtomic(pc, insn);
                    }
                    else
                    {
                        Unused(pc, insn, InstructionFields.Imm);
                    }

                    break;
            }
        }
    }

    private static void CheckAlu(int pc, Instruction insn)
    {
        switch (insn.AluOperation)
        {
            case AluOperation.Neg:
                Unused(pc, insn, InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm);
                return;
            case AluOperation.End:
                Unused(pc, insn, InstructionFields.Src | InstructionFields.Offset);
                if (insn.Imm is not (16 or 32 or 64))
                {
                    throw Reject(pc, insn, Invariant($"the width (imm) must be 16, 32 or 64, but it is {insn.Imm}"));
                }

                return;
        }

        // The register form has no immediate; the immediate form has no source register.
        Unused(pc, insn, insn.Source == OperandSource.Register ? InstructionFields.Imm : InstructionFields.Src);

        switch (insn.AluOperation)
        {
            case AluOperation.Div or AluOperation.Mod:
                if (insn.Offset is not (0 or 1))
                {
                    string op = insn.AluOperation == AluOperation.Div ? "div" : "mod";
                    throw Reject(pc, insn, Invariant($"the offset must be 0 ({op}) or 1 (s{op}), but it is {insn.Offset}"));
                }

                break;
            case AluOperation.Mov when insn.Source == OperandSource.Register:
                bool is64 = insn.Class == InstructionClass.Alu64;
                if (insn.Offset is not (0 or 8 or 16) && !(is64 && insn.Offset == 32))
                {
                    throw Reject(pc, insn, is64
                        ? Invariant($"the offset must be 0 (mov) or 8, 16 or 32 (movsx), but it is {insn.Offset}")
                        : Invariant($"the offset must be 0 (mov32) or 8 or 16 (movsx32), but it is {insn.Offset}"));
                }

                break;
            default:
                Unused(pc, insn, InstructionFields.Offset);
                break;
        }
    }

    private void CheckJump(int pc, Instruction insn)
    {
        switch (insn.OpCode)
        {
            case OpCodes.Exit:
                Unused(pc, insn, InstructionFields.Dst | InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm);
                return;
            case OpCodes.Call:
                Unused(pc, insn, InstructionFields.Dst | InstructionFields.Offset);
                if (insn.Src > 1)
                {
                    throw Reject(pc, insn, $"src {insn.Src} is not a supported call kind (0 = helper by id, 1 = local function; 2 = helper by BTF id is not supported)");
                }

                return;
            case OpCodes.CallX:
                Unused(pc, insn, InstructionFields.Src | InstructionFields.Offset | InstructionFields.Imm);
                return;
            case OpCodes.Ja:
                Unused(pc, insn, InstructionFields.Dst | InstructionFields.Src | InstructionFields.Imm);
                CheckSelfJump(pc, insn, insn.Offset);
                return;
            case OpCodes.Ja32:
                Unused(pc, insn, InstructionFields.Dst | InstructionFields.Src | InstructionFields.Offset);
                CheckSelfJump(pc, insn, insn.Imm);
                return;
        }

        // The register form has no immediate; the immediate form has no source register.
        Unused(pc, insn, insn.Source == OperandSource.Register ? InstructionFields.Imm : InstructionFields.Src);

        CheckSelfJump(pc, insn, insn.Offset);
    }

    private void CheckSelfJump(int pc, Instruction insn, int relative)
    {
        if (relative == -1 && Options.RejectSelfJumps)
        {
            throw Reject(pc, insn, "the jump targets itself (an infinite loop)");
        }
    }

    private void CheckLddw(ReadOnlySpan<Instruction> code, int pc)
    {
        var insn = code[pc];
        Unused(pc, insn, InstructionFields.Offset);
        if (insn.Src > (byte)LddwSource.MapValueByIndex)
        {
            throw Reject(pc, insn, $"src {insn.Src} is not a defined source (0 = 64-bit immediate, 1-6 = pseudo sources)");
        }

        if (insn.Src != 0 && !Options.AllowLddwPseudoSources)
        {
            throw Reject(pc, insn, $"the pseudo source {insn.Src} ({(LddwSource)insn.Src}) is not allowed by this verifier");
        }

        if (pc + 1 >= code.Length)
        {
            return; // an incomplete lddw is reported by the structural check
        }

        var next = code[pc + 1];
        (string Field, int Value)? bad =
            next.OpCode != 0 ? ("opcode", next.OpCode)
            : next.Dst != 0 ? ("dst", next.Dst)
            : next.Src != 0 ? ("src", next.Src)
            : next.Offset != 0 ? ("offset", next.Offset)
            : null;
        if (bad is { } b)
        {
            throw new EbpfVerificationException(pc + 1, next, Invariant($"the second slot of the lddw at pc {pc} must have opcode, dst, src and offset 0, but its {b.Field} is {b.Value}"));
        }
    }

    private void CheckPacketLoad(int pc, Instruction insn)
    {
        if (!Options.AllowLegacyPacketLoads)
        {
            throw Reject(pc, insn, "legacy packet loads (LD_ABS/LD_IND) are not allowed by this verifier");
        }

        Unused(pc, insn, InstructionFields.Dst | InstructionFields.Offset);
        if (insn.AccessMode == AccessMode.Absolute)
        {
            Unused(pc, insn, InstructionFields.Src);
        }
    }

    private static void CheckAtomic(int pc, Instruction insn)
    {
        if (!Enum.IsDefined((AtomicOperation)insn.Imm))
        {
            throw Reject(pc, insn, $"imm 0x{insn.Imm:x} is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)");
        }
    }

    private static void Unused(int pc, Instruction insn, InstructionFields fields)
    {
        (string Name, int Value)? bad =
            (fields & InstructionFields.Dst) != 0 && insn.Dst != 0 ? ("dst", insn.Dst)
            : (fields & InstructionFields.Src) != 0 && insn.Src != 0 ? ("src", insn.Src)
            : (fields & InstructionFields.Offset) != 0 && insn.Offset != 0 ? ("offset", insn.Offset)
            : (fields & InstructionFields.Imm) != 0 && insn.Imm != 0 ? ("imm", insn.Imm)
            : null;
        if (bad is { } b)
        {
            throw Reject(pc, insn, Invariant($"the {b.Name} field is unused and must be 0, but it is {b.Value}"));
        }
    }

    private static EbpfVerificationException Reject(int pc, Instruction insn, string rule) =>
        new(pc, insn, $"{InstructionNames.Of(insn)}: {rule}");
}
