using Ebpf.Building;
using Ebpf.Isa;
using Ebpf.Verification;
using static Ebpf.Building.Register;

namespace Ebpf.Tests.Building;

public class ProgramBuilderLabelTests
{
    [Fact]
    public void A_forward_label_resolves_to_the_distance_from_the_next_slot()
    {
        var b = new ProgramBuilder().Mov(R0, 0).Jump(JumpCondition.Equal, R1, 0, "done").Mov(R0, 1).Label("done").Exit();
        ProgramBuilderEncodingTests.Expect(b,
            "b7 00 00 00 00 00 00 00",
            "15 01 01 00 00 00 00 00",
            "b7 00 00 00 01 00 00 00",
            "95 00 00 00 00 00 00 00");
    }

    [Fact]
    public void A_backward_label_gives_a_negative_offset()
    {
        var b = new ProgramBuilder()
            .Mov(R0, 0)
            .Label("loop")
            .Add(R0, 1)
            .Jump(JumpCondition.Less, R0, R1, "loop", OperandWidth.Bits32)
            .Jump(JumpCondition.Less, R0, 10, "loop")
            .Exit();
        ProgramBuilderEncodingTests.Expect(b,
            "b7 00 00 00 00 00 00 00",
            "07 00 00 00 01 00 00 00",
            "ae 10 fe ff 00 00 00 00",
            "a5 00 fd ff 0a 00 00 00",
            "95 00 00 00 00 00 00 00");
    }

    [Fact]
    public void Labels_count_both_slots_of_lddw_and_ja32_and_local_calls_use_the_immediate()
    {
        var b = new ProgramBuilder()
            .Ja32("after")          // 0 -> 3: imm 2
            .Lddw(R1, 1L)           // 1, 2
            .Label("after")
            .CallLocal("function")  // 3 -> 6: imm 2
            .Ja("end")              // 4 -> 5: offset 0
            .Label("end")
            .Exit()                 // 5
            .Label("function")
            .Mov(R0, 7)             // 6
            .Ja32("end");           // 7 -> 5: imm -3
        ProgramBuilderEncodingTests.Expect(b,
            "06 00 00 00 02 00 00 00",
            "18 01 00 00 01 00 00 00",
            "00 00 00 00 00 00 00 00",
            "85 10 00 00 02 00 00 00",
            "05 00 00 00 00 00 00 00",
            "95 00 00 00 00 00 00 00",
            "b7 00 00 00 07 00 00 00",
            "06 00 00 00 fd ff ff ff");
    }

    [Fact]
    public void An_undefined_label_is_named_with_the_slot_that_uses_it()
    {
        var b = new ProgramBuilder().Mov(R0, 0).Ja("nowhere").Exit();
        var e = Assert.Throws<ProgramBuildException>(() => b.ToBytes());
        Assert.Equal("nowhere", e.Label);
        Assert.Equal(1, e.Slot);
        Assert.Equal("label 'nowhere' used at slot 1 is not defined", e.Message);
        Assert.IsAssignableFrom<EbpfException>(e);
    }

    [Fact]
    public void A_duplicate_label_is_an_error()
    {
        var b = new ProgramBuilder().Label("a").Mov(R0, 0).Label("a").Exit();
        var e = Assert.Throws<ProgramBuildException>(() => b.ToInstructions());
        Assert.Equal("a", e.Label);
        Assert.Equal(-1, e.Slot);
        Assert.Equal("label 'a' is defined twice (at slot 0 and at slot 1)", e.Message);
    }

    [Fact]
    public void A_label_after_the_last_instruction_is_an_error()
    {
        var b = new ProgramBuilder().Ja("end").Exit().Label("end");
        var e = Assert.Throws<ProgramBuildException>(() => b.Build());
        Assert.Equal("label 'end' used at slot 0 marks the end of the program (slot 2), where there is no instruction", e.Message);
    }

    [Fact]
    public void A_distance_beyond_16_bits_is_an_error_for_ja_but_not_for_ja32()
    {
        var far = new ProgramBuilder().Ja("far");
        var near = new ProgramBuilder().Ja32("far");
        for (int i = 0; i < 40000; i++)
        {
            far.Exit();
            near.Exit();
        }

        far.Label("far").Exit();
        near.Label("far").Exit();
        var e = Assert.Throws<ProgramBuildException>(() => far.ToInstructions());
        Assert.Equal(0, e.Slot);
        Assert.Equal("label 'far' is 40000 slots from the jump at slot 0; a 16-bit offset reaches -32768..32767 (use Ja32 for a longer unconditional jump)", e.Message);
        Assert.Equal(40000, near.ToInstructions()[0].Imm);
    }

    [Fact]
    public void A_backward_distance_beyond_16_bits_is_an_error()
    {
        var b = new ProgramBuilder().Label("top");
        for (int i = 0; i < 32768; i++)
        {
            b.Mov(R0, 0);
        }

        b.Jump(JumpCondition.NotEqual, R1, 0, "top").Exit();
        var e = Assert.Throws<ProgramBuildException>(() => b.ToInstructions());
        Assert.Equal("label 'top' is -32769 slots from the jump at slot 32768; a 16-bit offset reaches -32768..32767 (use Ja32 for a longer unconditional jump)", e.Message);
    }

    [Fact]
    public void Invalid_arguments_throw_at_once_and_emit_nothing()
    {
        var b = new ProgramBuilder().Mov(R0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Mov((Register)11, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Add(R1, (Register)15));
        Assert.Throws<ArgumentException>(() => b.Ldxs(AccessSize.DoubleWord, R0, R1));
        Assert.Throws<ArgumentException>(() => b.Atomic(AtomicOperation.Add, AccessSize.Byte, R1, 0, R2));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Atomic((AtomicOperation)0x02, AccessSize.Word, R1, 0, R2));
        Assert.Throws<ArgumentException>(() => b.MovSx(R1, R2, SignExtension.FromWord, OperandWidth.Bits32));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Alu((BinaryOperation)99, R1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Jump((JumpCondition)0x80, R1, 1, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Le(R1, (SwapWidth)8));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Lddw(R1, (LddwSource)7, 0));
        Assert.Throws<ArgumentException>(() => b.Ja(string.Empty));
        Assert.Throws<ArgumentException>(() => b.Label(string.Empty));
        Assert.Equal(1, b.Count);

        // A failed jump leaves no dangling label reference behind.
        b.Exit();
        Assert.Equal(2, b.ToInstructions().Length);
    }

    [Fact]
    public void Build_verifies_with_the_default_verifier_or_the_given_one()
    {
        var program = new ProgramBuilder().Mov(R0, 1).Exit().Build(name: "one");
        Assert.Equal("one", program.Name);
        Assert.Equal(2, program.Length);

        var writesR10 = new ProgramBuilder().Mov(R10, 1).Exit();
        var e = Assert.Throws<EbpfVerificationException>(() => writesR10.Build());
        Assert.Equal(0, e.Pc);

        var selfLoop = new ProgramBuilder().Label("spin").Ja("spin");
        Assert.Throws<EbpfVerificationException>(() => selfLoop.Build());
        Assert.Equal(1, selfLoop.Build(new Verifier(new VerifierOptions { RejectSelfJumps = false })).Length);
    }
}
