using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

/// <summary>One failing program per policy rule of <see cref="Verifier"/>: the expected pc, instruction and reason.</summary>
public class VerifierRuleTests
{
    private static readonly Instruction Exit = new(OpCodes.Exit, 0, 0, 0, 0);

    /// <summary>Cases: name, program slots (raw words), the pc of the offending slot, the reason.</summary>
    public static TheoryData<string, ulong[], int, string> PolicyRules() => new()
    {
        // ALU: the unused operand field of each source form, and the unused offset.
        { "add32 imm src", P(I(0x04, dst: 1, src: 2, imm: 5)), 0, "add32 with an immediate: the src field is unused and must be 0, but it is 2" },
        { "add64 reg imm", P(I(0x0f, dst: 1, src: 2, imm: 5)), 0, "add64 with a register: the imm field is unused and must be 0, but it is 5" },
        { "add64 imm offset", P(I(0x07, dst: 1, off: 3, imm: 5)), 0, "add64 with an immediate: the offset field is unused and must be 0, but it is 3" },
        { "lsh32 reg offset", P(I(0x6c, dst: 1, src: 2, off: -1)), 0, "lsh32 with a register: the offset field is unused and must be 0, but it is -1" },
        { "mov64 imm offset (no movsx with an immediate)", P(I(0xb7, dst: 1, off: 8, imm: 1)), 0, "mov64 with an immediate: the offset field is unused and must be 0, but it is 8" },
        { "neg32 src", P(I(0x84, dst: 1, src: 1)), 0, "neg32: the src field is unused and must be 0, but it is 1" },
        { "neg64 offset", P(I(0x87, dst: 1, off: 1)), 0, "neg64: the offset field is unused and must be 0, but it is 1" },
        { "neg64 imm", P(I(0x87, dst: 1, imm: 1)), 0, "neg64: the imm field is unused and must be 0, but it is 1" },

        // Byte swaps.
        { "le offset", P(I(0xd4, dst: 1, off: 1, imm: 16)), 0, "le: the offset field is unused and must be 0, but it is 1" },
        { "be src", P(I(0xdc, dst: 1, src: 1, imm: 32)), 0, "be: the src field is unused and must be 0, but it is 1" },

        // Jumps, calls, exit.
        { "ja dst", P(I(0x05, dst: 1), Exit), 0, "ja: the dst field is unused and must be 0, but it is 1" },
        { "ja src", P(I(0x05, src: 1), Exit), 0, "ja: the src field is unused and must be 0, but it is 1" },
        { "ja imm", P(I(0x05, imm: 1), Exit), 0, "ja: the imm field is unused and must be 0, but it is 1" },
        { "ja32 offset", P(I(0x06, off: 1), Exit, Exit), 0, "ja32: the offset field is unused and must be 0, but it is 1" },
        { "ja32 dst", P(I(0x06, dst: 2), Exit), 0, "ja32: the dst field is unused and must be 0, but it is 2" },
        { "jeq imm src", P(I(0x15, dst: 1, src: 1)), 0, "jeq with an immediate: the src field is unused and must be 0, but it is 1" },
        { "jgt reg imm", P(I(0x2d, dst: 1, src: 2, imm: 1)), 0, "jgt with a register: the imm field is unused and must be 0, but it is 1" },
        { "jsle32 imm src", P(I(0xd6, dst: 1, src: 3)), 0, "jsle32 with an immediate: the src field is unused and must be 0, but it is 3" },
        { "call dst", P(I(0x85, dst: 1, imm: 1)), 0, "call: the dst field is unused and must be 0, but it is 1" },
        { "call offset", P(I(0x85, off: 1, imm: 1)), 0, "call: the offset field is unused and must be 0, but it is 1" },
        { "callx src", P(I(0x8d, dst: 2, src: 1)), 0, "callx: the src field is unused and must be 0, but it is 1" },
        { "callx offset", P(I(0x8d, dst: 2, off: 4)), 0, "callx: the offset field is unused and must be 0, but it is 4" },
        { "callx imm", P(I(0x8d, dst: 2, imm: 7)), 0, "callx: the imm field is unused and must be 0, but it is 7" },
        { "exit dst", P(I(0x95, dst: 1)), 0, "exit: the dst field is unused and must be 0, but it is 1" },
        { "exit src", P(I(0x95, src: 1)), 0, "exit: the src field is unused and must be 0, but it is 1" },
        { "exit offset", P(I(0x95, off: 1)), 0, "exit: the offset field is unused and must be 0, but it is 1" },
        { "exit imm", P(I(0x95, imm: 1)), 0, "exit: the imm field is unused and must be 0, but it is 1" },
        { "ja to itself", P(I(0x05, off: -1)), 0, "ja: the jump targets itself (an infinite loop)" },
        { "ja32 to itself", P(Exit, I(0x06, imm: -1)), 1, "ja32: the jump targets itself (an infinite loop)" },
        { "conditional jump to itself", P(I(0x5d, dst: 1, src: 2, off: -1), Exit), 0, "jne with a register: the jump targets itself (an infinite loop)" },

        // lddw.
        { "lddw offset", P(I(0x18, dst: 1, off: 1, imm: 1), I(0), Exit), 0, "lddw: the offset field is unused and must be 0, but it is 1" },
        { "lddw second slot opcode", P(I(0x18, dst: 1, imm: 1), I(0x04, imm: 2), Exit), 1, "the second slot of the lddw at pc 0 must have opcode, dst, src and offset 0, but its opcode is 4" },
        { "lddw second slot dst", P(Exit, I(0x18, dst: 1, imm: 1), I(0, dst: 3, imm: 2), Exit), 2, "the second slot of the lddw at pc 1 must have opcode, dst, src and offset 0, but its dst is 3" },
        { "lddw second slot src", P(I(0x18, dst: 1, imm: 1), I(0, src: 1, imm: 2), Exit), 1, "the second slot of the lddw at pc 0 must have opcode, dst, src and offset 0, but its src is 1" },
        { "lddw second slot offset", P(I(0x18, dst: 1, imm: 1), I(0, off: -2, imm: 2), Exit), 1, "the second slot of the lddw at pc 0 must have opcode, dst, src and offset 0, but its offset is -2" },

        // Legacy packet loads.
        { "ldabsw dst", P(I(0x20, dst: 1, imm: 4)), 0, "ldabsw: the dst field is unused and must be 0, but it is 1" },
        { "ldabsb src", P(I(0x30, src: 1, imm: 4)), 0, "ldabsb: the src field is unused and must be 0, but it is 1" },
        { "ldindh offset", P(I(0x48, src: 1, off: 2, imm: 4)), 0, "ldindh: the offset field is unused and must be 0, but it is 2" },
        { "ldinddw dst", P(I(0x58, dst: 3, src: 1)), 0, "ldinddw: the dst field is unused and must be 0, but it is 3" },

        // Loads, stores, atomics.
        { "ldxw imm", P(I(0x61, dst: 0, src: 10, off: -4, imm: 1)), 0, "ldxw: the imm field is unused and must be 0, but it is 1" },
        { "ldxsh imm", P(I(0x89, dst: 0, src: 10, off: -4, imm: 1)), 0, "ldxsh: the imm field is unused and must be 0, but it is 1" },
        { "stw src", P(I(0x62, dst: 10, src: 1, off: -4, imm: 1)), 0, "stw: the src field is unused and must be 0, but it is 1" },
        { "stxdw imm", P(I(0x7b, dst: 10, src: 1, off: -8, imm: 1)), 0, "stxdw: the imm field is unused and must be 0, but it is 1" },
    };

    /// <summary>Cases for the structural rules <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/> always applies.</summary>
    public static TheoryData<string, ulong[], int, string> StructuralRules() => new()
    {
        { "unknown opcode", P(I(0xff), Exit), 0, "unknown opcode 0xff" },

        // Encodings the instruction set does not define (the decoder's rules; the policy verifier never sees them).
        { "sdiv offset", P(I(0x37, dst: 1, off: 2, imm: 3)), 0, "div64 with an immediate: the offset must be 0 (div) or 1 (sdiv), but it is 2" },
        { "smod offset", P(I(0x9c, dst: 1, src: 2, off: -1)), 0, "mod32 with a register: the offset must be 0 (mod) or 1 (smod), but it is -1" },
        { "movsx64 offset", P(I(0xbf, dst: 1, src: 2, off: 24)), 0, "mov64 with a register: the offset must be 0 (mov) or 8, 16 or 32 (movsx), but it is 24" },
        { "movsx32 from 32 bits", P(I(0xbc, dst: 1, src: 2, off: 32)), 0, "mov32 with a register: the offset must be 0 (mov32) or 8 or 16 (movsx32), but it is 32" },
        { "le width", P(I(0xd4, dst: 1, imm: 8)), 0, "le: the width (imm) must be 16, 32 or 64, but it is 8" },
        { "bswap width", P(I(0xd7, dst: 1, imm: 0)), 0, "bswap: the width (imm) must be 16, 32 or 64, but it is 0" },
        { "call src (BTF id)", P(I(0x85, src: 2, imm: 1)), 0, "call: src 2 is not a supported call kind (0 = helper by id, 1 = local function; 2 = helper by BTF id is not supported)" },
        { "lddw src beyond 6", P(I(0x18, dst: 1, src: 7, imm: 1), I(0), Exit), 0, "lddw: src 7 is not a defined source (0 = 64-bit immediate, 1-6 = pseudo sources)" },
        { "atomic32 undefined operation", P(I(0xc3, dst: 10, src: 1, off: -4, imm: 0x02)), 0, "atomic32: imm 0x2 is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)" },
        { "atomic64 undefined operation", P(I(0xdb, dst: 10, src: 1, off: -8, imm: 0xf0)), 0, "atomic64: imm 0xf0 is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)" },

        { "destination register r11", P(I(0xb7, dst: 11, imm: 1), Exit), 0, "destination register r11 does not exist (r0-r10)" },
        { "source register r12", P(I(0xbf, dst: 1, src: 12), Exit), 0, "source register r12 does not exist (r0-r10)" },
        { "write to r10", P(I(0x07, dst: 10, imm: 8), Exit), 0, "r10 is the read-only frame pointer and cannot be written" },
        { "load into r10", P(I(0x79, dst: 10, src: 1), Exit), 0, "r10 is the read-only frame pointer and cannot be written" },
        { "fetch into r10", P(I(0xdb, dst: 1, src: 10, imm: 0x01), Exit), 0, "r10 is the read-only frame pointer and cannot receive the fetched value" },
        { "lddw without its second slot", P(Exit, I(0x18, dst: 1, imm: 1)), 1, "lddw is incomplete: its second slot is missing" },
        { "jump beyond the end", P(I(0x05, off: 5), Exit), 0, "jump target 6 is outside the program (0..1)" },
        { "jump before the start", P(Exit, I(0x15, dst: 1, off: -3), Exit), 1, "jump target -1 is outside the program (0..2)" },
        { "jump into an lddw", P(I(0x05, off: 1), I(0x18, dst: 1), I(0), Exit), 0, "jump target 2 is the second slot of an lddw" },
        { "local call beyond the end", P(I(0x85, src: 1, imm: 10), Exit), 0, "local call target 11 is outside the program (0..1)" },
        { "local call into an lddw", P(I(0x85, src: 1, imm: 2), Exit, I(0x18, dst: 1), I(0), Exit), 0, "local call target 3 is the second slot of an lddw" },
        { "jump into another function", P(I(0x85, src: 1, imm: 2), I(0x15, off: 1), Exit, Exit), 1, "jump target 3 is outside the function at 0..2" },
        { "fall off the end", P(I(0xb7, imm: 1)), 0, "execution can run off the end of the function at 0..0 (the last reachable instruction must be exit or ja)" },
        { "fall off a function into the next", P(I(0x85, src: 1, imm: 2), I(0xb7, imm: 1), I(0xb7, imm: 2), Exit), 2, "execution can run off the end of the function at 0..2 (the last reachable instruction must be exit or ja)" },
    };

    [Theory]
    [MemberData(nameof(PolicyRules))]
    public void Each_policy_rule_rejects_with_pc_instruction_and_reason(string rule, ulong[] slots, int pc, string reason)
    {
        var code = Decode(slots);
        var e = Assert.Throws<EbpfVerificationException>(() => Verifier.Default.Verify(code));
        Assert.True(reason == e.Reason, $"{rule}: expected '{reason}', got '{e.Reason}'");
        Assert.Equal(pc, e.Pc);
        Assert.Equal(code[pc], e.Instruction);
        Assert.Contains($"at pc {pc} ", e.Message);
        Assert.EndsWith(reason, e.Message);

        // The same error when loading through EbpfProgram.Create with the default verifier.
        var loaded = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(Instruction.EncodeAll(code)));
        Assert.Equal(e.Message, loaded.Message);
    }

    [Theory]
    [MemberData(nameof(StructuralRules))]
    public void Each_structural_rule_rejects_with_pc_instruction_and_reason(string rule, ulong[] slots, int pc, string reason)
    {
        var code = Decode(slots);
        Verifier.Default.Verify(code); // not the policy verifier's business: it leaves these to the structural check
        var e = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(code));
        Assert.True(reason == e.Reason, $"{rule}: expected '{reason}', got '{e.Reason}'");
        Assert.Equal(pc, e.Pc);
        Assert.Equal(code[pc], e.Instruction);
    }

    [Fact]
    public void An_empty_program_is_rejected()
    {
        var e = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(ReadOnlySpan<byte>.Empty));
        Assert.Equal("the program is empty", e.Reason);
        Assert.Equal(-1, e.Pc);
        Assert.Null(e.Instruction);
        Assert.Equal("verification failed: the program is empty", e.Message);
    }

    [Fact]
    public void A_length_that_is_not_a_multiple_of_8_is_a_decode_error()
    {
        var e = Assert.Throws<EbpfDecodeException>(() => ProgramLoader.Load(new byte[] { 0x95, 0, 0, 0, 0, 0, 0, 0, 0x95 }));
        Assert.Contains("not a multiple of 8", e.Message);
    }

    [Fact]
    public void The_default_length_limit_is_one_million_slots()
    {
        Assert.Equal(1_000_000, Verifier.Default.Options.MaxSlots);
        var code = new Instruction[1_000_001];
        Array.Fill(code, Exit);
        var e = Assert.Throws<EbpfVerificationException>(() => Verifier.Default.Verify(code));
        Assert.Equal("the program has 1000001 slots; this verifier allows at most 1000000", e.Reason);
        Assert.Equal(-1, e.Pc);

        // The structural limit holds even for a verifier that accepts everything.
        var structural = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(code, Verifier.FromDelegate(_ => null)));
        Assert.Equal("the program has 1000001 slots; at most 1000000 are allowed", structural.Reason);
    }

    [Fact]
    public void The_length_limit_is_configurable()
    {
        var verifier = new Verifier(new VerifierOptions { MaxSlots = 2 });
        verifier.Verify([Exit, Exit]);
        var e = Assert.Throws<EbpfVerificationException>(() => verifier.Verify([Exit, Exit, Exit]));
        Assert.Equal("the program has 3 slots; this verifier allows at most 2", e.Reason);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Verifier(new VerifierOptions { MaxSlots = 0 }));
    }

    [Fact]
    public void Requiring_exit_at_the_end_is_rbpfs_optional_rule()
    {
        // mov r0, 0; jeq r1, 1, +1; exit; ja -2 (the last slot jumps back to the exit)
        Instruction[] code = [I(0xb7), I(0x15, dst: 1, imm: 1, off: 1), Exit, I(0x05, off: -2)];
        ProgramLoader.Load(code);
        var strict = new Verifier(new VerifierOptions { RequireExitAtEnd = true });
        var e = Assert.Throws<EbpfVerificationException>(() => strict.Verify(code));
        Assert.Equal("the program does not end with exit", e.Reason);
        Assert.Equal(3, e.Pc);
        Assert.Equal(code[3], e.Instruction);
    }

    [Fact]
    public void Self_jumps_can_be_allowed()
    {
        Instruction[] code = [I(0x15, dst: 1, off: -1), Exit];
        var lenient = new Verifier(new VerifierOptions { RejectSelfJumps = false });
        Assert.Equal(2, EbpfProgram.Create(code, lenient).Length);
    }

    [Fact]
    public void Legacy_packet_loads_can_be_forbidden()
    {
        Instruction[] code = [I(0x40, src: 1, imm: 2), Exit];
        ProgramLoader.Load(code);
        var strict = new Verifier(new VerifierOptions { AllowLegacyPacketLoads = false });
        var e = Assert.Throws<EbpfVerificationException>(() => strict.Verify(code));
        Assert.Equal("ldindw: legacy packet loads (LD_ABS/LD_IND) are not allowed by this verifier", e.Reason);
        Assert.Equal(0, e.Pc);
    }

    [Fact]
    public void Lddw_pseudo_sources_can_be_forbidden()
    {
        Instruction[] code = [Exit, I(0x18, dst: 1, src: 5, imm: 3), I(0), Exit];
        ProgramLoader.Load(code);
        var strict = new Verifier(new VerifierOptions { AllowLddwPseudoSources = false });
        var e = Assert.Throws<EbpfVerificationException>(() => strict.Verify(code));
        Assert.Equal("lddw: the pseudo source 5 (MapByIndex) is not allowed by this verifier", e.Reason);
        Assert.Equal(1, e.Pc);
        strict.Verify([I(0x18, dst: 1, imm: 3), I(0, imm: 4), Exit]);
    }

    [Fact]
    public void Every_defined_form_of_the_restricted_fields_is_accepted()
    {
        Instruction[] code =
        [
            I(0x37, dst: 1, off: 1, imm: 3), // sdiv64 imm
            I(0x3c, dst: 1, src: 2, off: 1), // sdiv32 reg
            I(0x97, dst: 1, off: 1, imm: 3), // smod64 imm
            I(0x9c, dst: 1, src: 2, off: 1), // smod32 reg
            I(0xbf, dst: 1, src: 2, off: 8), I(0xbf, dst: 1, src: 2, off: 16), I(0xbf, dst: 1, src: 2, off: 32),
            I(0xbc, dst: 1, src: 2, off: 8), I(0xbc, dst: 1, src: 2, off: 16),
            I(0xd4, dst: 1, imm: 16), I(0xd4, dst: 1, imm: 32), I(0xd4, dst: 1, imm: 64),
            I(0xdc, dst: 1, imm: 16), I(0xdc, dst: 1, imm: 32), I(0xdc, dst: 1, imm: 64),
            I(0xd7, dst: 1, imm: 16), I(0xd7, dst: 1, imm: 32), I(0xd7, dst: 1, imm: 64),
            I(0xc3, dst: 10, src: 1, off: -4, imm: 0x00), I(0xc3, dst: 10, src: 1, off: -4, imm: 0x40),
            I(0xc3, dst: 10, src: 1, off: -4, imm: 0x50), I(0xc3, dst: 10, src: 1, off: -4, imm: 0xa0),
            I(0xdb, dst: 10, src: 1, off: -8, imm: 0x01), I(0xdb, dst: 10, src: 1, off: -8, imm: 0x41),
            I(0xdb, dst: 10, src: 1, off: -8, imm: 0x51), I(0xdb, dst: 10, src: 1, off: -8, imm: 0xa1),
            I(0xdb, dst: 10, src: 1, off: -8, imm: 0xe1), I(0xdb, dst: 10, src: 1, off: -8, imm: 0xf1),
            I(0x18, dst: 1, src: 1, imm: 1), I(0), I(0x18, dst: 1, src: 2, imm: 1), I(0, imm: 8),
            I(0x18, dst: 1, src: 3, imm: 1), I(0), I(0x18, dst: 1, src: 4, imm: 9), I(0), // code_addr: the last function (slot 44)
            I(0x18, dst: 1, src: 5, imm: 1), I(0), I(0x18, dst: 1, src: 6, imm: 1), I(0, imm: 8),
            I(0x8d, dst: 2), // callx r2
            I(0x85, imm: 1), // call helper 1
            I(0x85, src: 1, imm: 1), // call local (the next function)
            Exit,
            Exit,
        ];
        Assert.Equal(code.Length, ProgramLoader.Load(code).Length);
    }

    [Fact]
    public void Division_by_an_immediate_zero_and_wide_shifts_are_accepted_unlike_rbpf()
    {
        Instruction[] code =
        [
            I(0x34, dst: 1, imm: 0), I(0x37, dst: 1, imm: 0), I(0x94, dst: 1, imm: 0), I(0x97, dst: 1, imm: 0),
            I(0x27, dst: 1, imm: 0), // rbpf also rejects mul64 by an immediate 0
            I(0x64, dst: 1, imm: 32), I(0x67, dst: 1, imm: 64), I(0x74, dst: 1, imm: 255), I(0xc7, dst: 1, imm: -1),
            Exit,
        ];
        Assert.Equal(code.Length, ProgramLoader.Load(code).Length);
    }

    internal static Instruction I(byte op, byte dst = 0, byte src = 0, short off = 0, int imm = 0) => new(op, dst, src, off, imm);

    private static ulong[] P(params Instruction[] slots) => slots.Select(s => s.ToRaw()).ToArray();

    private static Instruction[] Decode(ulong[] slots) => slots.Select(Instruction.FromRaw).ToArray();
}
