using Ebpf.Assembly;
using Ebpf.Building;
using Ebpf.Isa;
using static Ebpf.Building.Register;

namespace Ebpf.Tests.Building;

/// <summary>A program using every instruction family, written once with the builder and once as assembly text.</summary>
public class BuilderAssemblerEquivalenceTests
{
    private const string Text = """
        mov %r0, 0
        add32 %r1, 5
        sub %r2, %r3
        mul32 %r4, %r5
        div %r6, 7
        sdiv32 %r6, %r7
        or %r1, 0xf0
        and32 %r1, %r2
        lsh %r3, 4
        rsh32 %r3, %r4
        mod %r5, 9
        smod %r5, %r6
        xor32 %r7, -1
        mov32 %r8, %r9
        arsh %r8, 3
        neg %r1
        neg32 %r2
        movsx864 %r1, %r2
        movsx1632 %r3, %r4
        movsx3264 %r5, %r6
        le16 %r1
        be32 %r2
        bswap64 %r3
        ldxw %r0, [%r1+2]
        ldxdw %r2, [%r10-8]
        ldxsh %r3, [%r1+4]
        ldxsb %r4, [%r1-1]
        stb [%r10-1], 0x11
        stdw [%r10-16], -1
        stxh [%r10-2], %r1
        stxw [%r10-4], %r2
        ldabsw 0x10
        ldindb %r1, 0x2
        lock add [%r10-8], %r1
        lock fetch or32 [%r10-4], %r2
        lock xchg [%r10-8], %r3
        lock cmpxchg32 [%r10-4], %r4
        lddw %r1, 0x1122334455667788
        lddw %r2, map_value_by_fd 0x800000005
    top:
        jeq %r1, 5, done
        jsgt32 %r1, %r2, top
        jset %r3, %r4, done
        jle32 %r5, -1, top
        ja done
        ja32 done
        call 1
        call %r2
        call local function
    done:
        exit
    function:
        mov %r0, 7
        exit
    """;

    [Fact]
    public void Builder_output_equals_assembler_output_for_every_family()
    {
        const OperandWidth W32 = OperandWidth.Bits32;
        var b = new ProgramBuilder()
            .Mov(R0, 0).Add(R1, 5, W32).Sub(R2, R3).Mul(R4, R5, W32).Div(R6, 7).SDiv(R6, R7, W32).Or(R1, 0xf0).And(R1, R2, W32)
            .Lsh(R3, 4).Rsh(R3, R4, W32).Mod(R5, 9).SMod(R5, R6).Xor(R7, -1, W32).Mov(R8, R9, W32).Arsh(R8, 3)
            .Neg(R1).Neg(R2, W32)
            .MovSx(R1, R2, SignExtension.FromByte).MovSx(R3, R4, SignExtension.FromHalfWord, W32).MovSx(R5, R6, SignExtension.FromWord)
            .Le(R1, SwapWidth.Bits16).Be(R2, SwapWidth.Bits32).Bswap(R3, SwapWidth.Bits64)
            .Ldx(AccessSize.Word, R0, R1, 2).Ldx(AccessSize.DoubleWord, R2, R10, -8).Ldxs(AccessSize.HalfWord, R3, R1, 4).Ldxs(AccessSize.Byte, R4, R1, -1)
            .St(AccessSize.Byte, R10, -1, 0x11).St(AccessSize.DoubleWord, R10, -16, -1).Stx(AccessSize.HalfWord, R10, -2, R1).Stx(AccessSize.Word, R10, -4, R2)
            .LdAbs(AccessSize.Word, 0x10).LdInd(AccessSize.Byte, R1, 2)
            .AtomicAdd(AccessSize.DoubleWord, R10, -8, R1).AtomicOr(AccessSize.Word, R10, -4, R2, fetch: true)
            .AtomicExchange(AccessSize.DoubleWord, R10, -8, R3).AtomicCompareExchange(AccessSize.Word, R10, -4, R4)
            .Lddw(R1, 0x1122334455667788L).Lddw(R2, LddwSource.MapValueByFd, 5, 8)
            .Label("top")
            .Jump(JumpCondition.Equal, R1, 5, "done")
            .Jump(JumpCondition.SignedGreater, R1, R2, "top", W32)
            .Jump(JumpCondition.AnyBitSet, R3, R4, "done")
            .Jump(JumpCondition.LessOrEqual, R5, -1, "top", W32)
            .Ja("done").Ja32("done")
            .Call(1).CallX(R2).CallLocal("function")
            .Label("done").Exit()
            .Label("function").Mov(R0, 7).Exit();

        var assembled = Assembler.Assemble(Text);
        var built = b.ToInstructions();
        Assert.Equal(assembled.Length, built.Length);
        for (int pc = 0; pc < built.Length; pc++)
        {
            Assert.True(assembled[pc] == built[pc], $"slot {pc}: assembler {assembled[pc]}, builder {built[pc]}");
        }

        Assert.Equal(Instruction.EncodeAll(assembled), b.ToBytes());
        Assert.Equal(built.Length, b.Build().Length);
    }
}
