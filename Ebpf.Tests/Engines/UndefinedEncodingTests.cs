using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

/// <summary>
/// Engine parity for undefined encodings: whatever verifier is plugged in (here one that accepts everything), a slot
/// the instruction set does not define is rejected once, by <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/>,
/// with the same error, so no engine ever receives it; the defined neighbour of each case (the same family with a
/// defined field) runs on every engine with the result RFC 9669 gives.
/// </summary>
public class UndefinedEncodingTests
{
    private static readonly Instruction Exit = I(OpCodes.Exit);

    /// <summary>A case: the undefined slot (at pc 1, after <c>mov r0, value</c>), the reason, and a defined neighbour with its r0.</summary>
    public sealed record Case(string Name, ulong Value, Instruction Undefined, string Reason, Instruction Defined, ulong Expected);

    private static readonly Case[] Cases =
    [
        new("be width 24", 0x1122, I(OpCodes.Be, imm: 24), "be: the width (imm) must be 16, 32 or 64, but it is 24", I(OpCodes.Be, imm: 16), 0x2211),
        new("le width 8", 0x11223344, I(OpCodes.Le, imm: 8), "le: the width (imm) must be 16, 32 or 64, but it is 8", I(OpCodes.Le, imm: 16), 0x3344),
        new("bswap width 0", 0x11223344, I(OpCodes.Bswap, imm: 0), "bswap: the width (imm) must be 16, 32 or 64, but it is 0", I(OpCodes.Bswap, imm: 32), 0x44332211),
        new("div64 offset 2", unchecked((ulong)-7L), I(OpCodes.Div64Imm, offset: 2, imm: 3), "div64 with an immediate: the offset must be 0 (div) or 1 (sdiv), but it is 2", I(OpCodes.Div64Imm, offset: 1, imm: 3), unchecked((ulong)-2L)),
        new("mod32 offset -1", unchecked((ulong)-7L), I(OpCodes.Mod32Imm, offset: -1, imm: 3), "mod32 with an immediate: the offset must be 0 (mod) or 1 (smod), but it is -1", I(OpCodes.Mod32Imm, offset: 1, imm: 3), 0xffffffff),
        new("mov64 offset 4", 0x80, I(OpCodes.Mov64Reg, offset: 4), "mov64 with a register: the offset must be 0 (mov) or 8, 16 or 32 (movsx), but it is 4", I(OpCodes.Mov64Reg, offset: 8), 0xffffffffffffff80),
        new("mov32 offset 32", 0x18000, I(OpCodes.Mov32Reg, offset: 32), "mov32 with a register: the offset must be 0 (mov32) or 8 or 16 (movsx32), but it is 32", I(OpCodes.Mov32Reg, offset: 16), 0xffff8000),
        new("call src 2", 7, I(OpCodes.Call, src: 2, imm: 1), "call: src 2 is not a supported call kind (0 = helper by id, 1 = local function; 2 = helper by BTF id is not supported)", I(OpCodes.Ja), 7),
        new("atomic64 imm 0x02", 7, I(OpCodes.AtomicDW, 10, 0, -8, 0x02), "atomic64: imm 0x2 is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)", I(OpCodes.AtomicDW, 10, 0, -8, 0x01), 0),
        new("atomic32 imm 0xf0", 7, I(OpCodes.AtomicW, 10, 0, -8, 0xf0), "atomic32: imm 0xf0 is not an atomic operation (add 0x00, or 0x40, and 0x50, xor 0xa0, their fetch forms 0x01/0x41/0x51/0xa1, xchg 0xe1, cmpxchg 0xf1)", I(OpCodes.AtomicW, 10, 0, -8, 0xe1), 0),
        new("unknown opcode 0x8e", 7, I(0x8e), "unknown opcode 0x8e", I(OpCodes.Add64Imm, imm: 1), 8),
        new("source register r11", 7, I(OpCodes.Add64Reg, 0, 11), "source register r11 does not exist (r0-r10)", I(OpCodes.Add64Reg, 0, 0), 14),
    ];

    public static TheoryData<string, string> EngineCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var c in Cases)
            {
                data.Add(engine.Name, c.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EngineCases))]
    public void An_undefined_encoding_is_rejected_before_any_engine_and_its_defined_neighbour_runs(string engine, string name)
    {
        var c = Cases.Single(x => x.Name == name);

        // The stack slot the atomic cases use starts at 0: "lock fetch add" then returns 0 to r0 (src), "xchg32" too.
        Instruction[] Slots(Instruction middle) => [.. Lddw(0, c.Value), I(OpCodes.StDW, 10, 0, -8, 0), middle, Exit];

        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(Slots(c.Undefined), StructuralOnlyVerifier.Instance));
        Assert.Equal(c.Reason, e.Reason);
        Assert.Equal(3, e.Pc);
        Assert.Equal(c.Undefined, e.Instruction);

        var defined = EbpfProgram.Create(Slots(c.Defined), StructuralOnlyVerifier.Instance);
        Assert.Equal(c.Expected, Run(engine, defined));
    }

    [Fact]
    public void Every_case_is_rejected_the_same_way_by_the_decoder_the_default_verifier_leaves_them_to()
    {
        foreach (var c in Cases)
        {
            Instruction[] code = [c.Undefined, Exit];
            Ebpf.Verification.Verifier.Default.Verify(code); // not policy: the decoder's business
            Assert.False(InstructionDecoder.TryDecode(code, 0, out _, out string? problem));
            Assert.Equal(c.Reason, problem);
        }
    }
}
