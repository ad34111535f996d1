using Ebpf.Analysis;
using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>The proving verifier, rule by rule: each test names the outcome and the exact log line it expects.</summary>
public class SafetyRuleTests
{
    private static SafetyFinding Single(IEnumerable<SafetyFinding> findings) => Assert.Single(findings);

    [Fact]
    public void Reading_a_register_never_written_is_an_error()
    {
        var analysis = Analyze.Asm("mov r0, r5\nexit");
        var error = Single(analysis.Errors);
        Assert.Equal(0, error.Pc);
        Assert.Equal("r5 is read before it is written (uninitialised on some path)", error.Message);
        Assert.Contains("    error: r5 is read before it is written", analysis.Log);
        Assert.False(analysis.IsSafe);
        var verifier = new ProvingVerifier(VerificationMode.Hybrid, Analyze.LinuxContext());
        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(Analyze.Program("mov r0, r5\nexit").Bytes.AsSpan(), verifier));
        Assert.Equal(0, e.Pc);
        Assert.Contains("unsafe: r5 is read before it is written", e.Message);
    }

    [Fact]
    public void A_register_uninitialised_on_one_path_only_is_an_error()
    {
        var analysis = Analyze.Asm("jeq r2, 0, +1\nmov r3, 1\nmov r0, r3\nexit");
        Assert.Equal("r3 is read before it is written (uninitialised on some path)", Single(analysis.Errors).Message);
        Assert.Equal(2, analysis.Errors[0].Pc);
    }

    [Fact]
    public void Exit_with_r0_never_written_is_an_error()
    {
        Assert.Equal("r0 is read before it is written (uninitialised on some path)", Single(Analyze.Asm("exit").Errors).Message);
    }

    [Fact]
    public void Unchecked_input_read_is_unknown_and_keeps_its_check()
    {
        var analysis = Analyze.Asm("ldxb r0, [r1+100]\nexit");
        Assert.True(analysis.IsSafe);
        Assert.False(analysis.IsProven);
        Assert.Equal("r1: offset 100 (1 byte) may exceed the input length, len in [0, inf)", Single(analysis.Unproven).Message);
        Assert.Equal(new AccessProof(AccessOutcome.Unknown, ValueKind.Input, 100, 100, 1), analysis.Access(0));
        Assert.Contains("0: ldxb r0, [r1+100]\n    ; r1=input(off=0) r2=scalar(=len+0, u[0, 2147483647]) r10=fp0+0\n    unproven: r1: offset 100", analysis.Log);
    }

    [Fact]
    public void Length_check_proves_the_read()
    {
        var analysis = Analyze.Asm("mov r0, 0\njlt r2, 101, +1\nldxb r0, [r1+100]\nexit");
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Input, 100, 100, 1), analysis.Access(2));
        Assert.Contains("len>=101", analysis.Log);
    }

    [Fact]
    public void Off_by_one_length_check_does_not_prove_the_read()
    {
        var analysis = Analyze.Asm("mov r0, 0\njlt r2, 100, +1\nldxb r0, [r1+100]\nexit");
        Assert.Equal("r1: offset 100 (1 byte) may exceed the input length, len in [100, inf)", Single(analysis.Unproven).Message);
    }

    [Fact]
    public void Pointer_compared_with_the_end_proves_the_header_read()
    {
        // end = r1 + r2; if (r1 + 14 > end) return 0; return the EtherType
        const string asm = """
            mov r3, r1
            add r3, r2
            mov r4, r1
            add r4, 14
            mov r0, 0
            jgt r4, r3, +1
            ldxh r0, [r1+12]
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(6).Outcome);
        Assert.Contains("r3=input(off=u[0, 2147483647], =len+0)", analysis.Log);
    }

    [Fact]
    public void Index_below_the_length_proves_the_indexed_read()
    {
        // if (i < n) return p[i], with i from the input
        const string asm = """
            mov r0, 0
            jlt r2, 1, +4
            ldxb r3, [r1]
            jge r3, r2, +2
            add r1, r3
            ldxb r0, [r1]
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Input, 0, 255, 1), analysis.Access(5));
    }

    [Fact]
    public void Loop_over_the_input_converges_and_is_proven()
    {
        // sum the bytes: for (i = 0; i < len; i++) sum += p[i]
        const string asm = """
            mov r0, 0
            mov r3, 0
            loop:
            jge r3, r2, done
            mov r4, r1
            add r4, r3
            ldxb r5, [r4]
            add r0, r5
            add r3, 1
            ja loop
            done:
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(5).Outcome);
    }

    [Fact]
    public void An_endless_loop_still_ends_the_analysis()
    {
        var analysis = Analyze.Asm("mov r0, 0\nloop:\nadd r0, 1\nja loop\nexit");
        Assert.True(analysis.IsProven);
    }

    [Fact]
    public void Read_before_the_input_is_refuted()
    {
        var analysis = Analyze.Asm("ldxb r0, [r1-1]\nexit");
        Assert.Equal("r1: offset -1 is before the start of the input", Single(analysis.Errors).Message);
        Assert.Equal(AccessOutcome.Refuted, analysis.Access(0).Outcome);
    }

    [Fact]
    public void Read_at_the_end_pointer_is_refuted()
    {
        var analysis = Analyze.Asm("mov r3, r1\nadd r3, r2\nldxb r0, [r3]\nexit");
        Assert.Equal("r3: offset [0, 2147483647] (1 byte) runs past the end of the input on every path (the offset is at least len+0)", Single(analysis.Errors).Message);
    }

    [Fact]
    public void Uninitialised_stack_read_is_an_error()
    {
        var analysis = Analyze.Asm("ldxdw r0, [r10-8]\nexit");
        Assert.Equal("r10: reads the uninitialised stack byte fp-8", Single(analysis.Errors).Message);
    }

    [Fact]
    public void Partly_written_stack_slot_is_an_error_at_its_first_unwritten_byte()
    {
        var analysis = Analyze.Asm("stw [r10-8], 1\nldxdw r0, [r10-8]\nexit");
        Assert.Equal("r10: reads the uninitialised stack byte fp-4", Single(analysis.Errors).Message);
    }

    [Fact]
    public void Spilled_pointer_keeps_its_type_and_its_proof()
    {
        const string asm = """
            stxdw [r10-16], r1
            mov r0, 0
            jlt r2, 4, +2
            ldxdw r3, [r10-16]
            ldxw r0, [r3]
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven));
        Assert.Contains("fp-16=input(off=0)", analysis.Log);
    }

    [Fact]
    public void Store_outside_the_frame_is_refuted()
    {
        var analysis = Analyze.Asm("stb [r10], 1\nmov r0, 0\nexit");
        Assert.Equal("r10: stack offset 0 (1 byte) is outside the 512-byte frame", Single(analysis.Errors).Message);
        var below = Analyze.Asm("stb [r10-513], 1\nmov r0, 0\nexit");
        Assert.Equal("r10: stack offset -513 (1 byte) is outside the 512-byte frame", Single(below.Errors).Message);
    }

    [Fact]
    public void Map_lookup_without_a_null_check_is_unknown()
    {
        var slots = LookupPrologue().Concat(new[] { new Instruction(OpCodes.LdxDW, 0, 0, 0, 0), new Instruction(OpCodes.Exit, 0, 0, 0, 0) }).ToArray();
        var analysis = Analyze.Slots(slots);
        Assert.True(analysis.IsSafe);
        Assert.Equal("r0: may be null (the result of a map lookup: compare it with 0 first)", Single(analysis.Unproven).Message);
    }

    [Fact]
    public void Map_lookup_with_a_null_check_is_proven_up_to_the_value_size()
    {
        var prologue = LookupPrologue();
        Instruction[] body =
        [
            new(OpCodes.JeqImm, 0, 0, 2, 0),       // if r0 == 0 goto out
            new(OpCodes.LdxDW, 0, 0, 8, 0),          // r0 = value[8..16)
            new(OpCodes.Exit, 0, 0, 0, 0),
            new(OpCodes.Exit, 0, 0, 0, 0),
        ];
        var analysis = Analyze.Slots([.. prologue, .. body]);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven.Concat(analysis.Errors)));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.MapValue, 8, 8, 8), analysis.Access(prologue.Length + 1));

        body[1] = new(OpCodes.LdxDW, 0, 0, 12, 0); // value[12..20): past the 16 bytes
        var past = Analyze.Slots([.. prologue, .. body]);
        Assert.Equal("r0: offset 12 (8 bytes) is outside the 16-byte value of counts", Single(past.Errors).Message);
    }

    [Fact]
    public void Lookup_with_an_uninitialised_key_is_an_error()
    {
        Instruction[] slots =
        [
            .. Analyze.PseudoLddw(1, LddwSource.MapByIndex, 0),
            new(OpCodes.Mov64Reg, 2, 10, 0, 0),
            new(OpCodes.Add64Imm, 2, 0, 0, -4),
            new(OpCodes.Call, 0, 0, 0, 1),
            new(OpCodes.Mov64Imm, 0, 0, 0, 0),
            new(OpCodes.Exit, 0, 0, 0, 0),
        ];
        Assert.Equal("r2: reads the uninitialised stack byte fp-4", Single(Analyze.Slots(slots).Errors).Message);
    }

    [Fact]
    public void Passing_a_number_where_a_map_is_expected_is_an_error()
    {
        var analysis = Analyze.Asm("mov r1, 5\nmov r2, r10\ncall 1\nmov r0, 0\nexit");
        Assert.Equal("r1: the helper expects a map (an lddw map pseudo source), but r1 is 5", Single(analysis.Errors).Message);
    }

    [Fact]
    public void Store_to_read_only_global_data_is_refuted_and_writable_data_is_proven()
    {
        Instruction[] Store(int map) =>
        [
            .. Analyze.PseudoLddw(1, LddwSource.MapValueByIndex, map, 4),
            new(OpCodes.StW, 1, 0, 0, 7),
            new(OpCodes.Mov64Imm, 0, 0, 0, 0),
            new(OpCodes.Exit, 0, 0, 0, 0),
        ];
        Assert.Equal("r1: .rodata is read-only", Single(Analyze.Slots(Store(1)).Errors).Message);
        var writable = Analyze.Slots(Store(2));
        Assert.True(writable.IsProven);
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Global, 4, 4, 4), writable.Access(2));
    }

    [Fact]
    public void Helper_without_a_signature_is_unproven()
    {
        var analysis = Analyze.Asm("call 99\nexit");
        Assert.True(analysis.IsSafe);
        Assert.Equal("helper 99 has no declared signature (Helper.Signature), so its arguments are not checked", Single(analysis.Unproven).Message);
    }

    [Fact]
    public void Helper_memory_argument_is_proven_against_the_stack()
    {
        // csum_diff(fp-8, 8, fp-8, 8, 0) after writing the 8 bytes
        const string asm = """
            stdw [r10-8], 0
            mov r1, r10
            add r1, -8
            mov r2, 8
            mov r3, r1
            mov r4, 8
            mov r5, 0
            call 28
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven.Concat(analysis.Errors)));
        var tooLong = Analyze.Asm(asm.Replace("add r1, -8", "add r1, -16", StringComparison.Ordinal).Replace("mov r2, 8", "mov r2, 16", StringComparison.Ordinal));
        Assert.Equal("r1: reads the uninitialised stack byte fp-16", Single(tooLong.Errors).Message);
        var pastTheFrame = Analyze.Asm(asm.Replace("mov r2, 8", "mov r2, 16", StringComparison.Ordinal));
        Assert.Equal("r1: stack offset -8 (16 bytes) is outside the 512-byte frame", Single(pastTheFrame.Errors).Message);
    }

    [Fact]
    public void Local_call_gets_its_own_frame_and_writes_through_a_pointer_to_the_callers()
    {
        // main: r1 = fp-8; call f; r0 = [fp-8]; exit.   f: [r1] = 42 (the caller's slot); [fp-8] = 1 (its own); exit
        const string asm = """
            mov r1, r10
            add r1, -8
            call local f
            ldxdw r0, [r10-8]
            exit
            f:
            stdw [r1], 42
            stdw [r10-8], 1
            mov r0, 0
            exit
            """;
        var analysis = Analyze.Asm(asm);
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Unproven.Concat(analysis.Errors)));
        Assert.Contains("r1=fp0-8", analysis.Log);
        Assert.Contains("r10=fp1+0", analysis.Log);
    }

    [Fact]
    public void Callee_frame_is_uninitialised_even_when_the_caller_wrote_the_same_offset()
    {
        const string asm = """
            stdw [r10-8], 1
            call local f
            exit
            f:
            ldxdw r0, [r10-8]
            exit
            """;
        Assert.Equal("r10: reads the uninitialised stack byte fp-8", Single(Analyze.Asm(asm).Errors).Message);
    }

    [Fact]
    public void Strict_and_hybrid_verifiers_differ_on_unknown_accesses()
    {
        var code = Analyze.Program("ldxb r0, [r1+100]\nexit").Bytes.ToArray();
        var context = Analyze.LinuxContext();
        Assert.NotNull(EbpfProgram.Create(code, new ProvingVerifier(VerificationMode.Hybrid, context)));
        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(code, new ProvingVerifier(VerificationMode.Strict, context)));
        Assert.Equal("ldxb r0, [r1+100]: not proven: r1: offset 100 (1 byte) may exceed the input length, len in [0, inf)", e.Reason);
    }

    [Fact]
    public void Analysis_is_cached_per_context()
    {
        var program = Analyze.Program("mov r0, 0\nexit");
        var context = Analyze.LinuxContext();
        Assert.Same(program.Analysis.Safety(context), program.Analysis.Safety(context));
        Assert.Null(program.Analysis.Safety(context).Log);
    }

    /// <summary>key = 0 at fp-4; r1 = map 0; r2 = fp-4; call map_lookup_elem.</summary>
    [Fact]
    public void A_map_value_on_one_path_and_null_on_the_other_is_a_map_value_or_null()
    {
        // r6 = 0; if (r2 >= 1) r6 = lookup(); if (r6 != 0) r0 = *(u64 *)(r6 + 8): proven, as the kernel proves it
        // path by path. Without the null check the read is unknown ("may be null"), and a store of r6 + 8 is no pointer.
        Instruction[] Program(bool nullCheck) =>
        [
            new(OpCodes.Mov64Imm, 6, 0, 0, 0),
            new(OpCodes.JltImm, 2, 0, (short)(LookupPrologue().Length + 1), 1),
            .. LookupPrologue(),
            new(OpCodes.Mov64Reg, 6, 0, 0, 0),
            new(OpCodes.Mov64Imm, 0, 0, 0, 0),
            .. nullCheck ? new Instruction[] { new(OpCodes.JeqImm, 6, 0, 1, 0) } : [],
            new(OpCodes.LdxDW, 0, 6, 8, 0),
            new(OpCodes.Exit, 0, 0, 0, 0),
        ];
        var checkedRead = Analyze.Slots(Program(nullCheck: true));
        Assert.True(checkedRead.IsProven, string.Join("\n", checkedRead.Unproven.Concat(checkedRead.Errors)));
        Assert.Contains("map_value_or_null(counts, off=0)", checkedRead.Log);

        var uncheckedRead = Analyze.Slots(Program(nullCheck: false));
        Assert.True(uncheckedRead.IsSafe);
        Assert.Equal("r6: may be null (the result of a map lookup: compare it with 0 first)", Single(uncheckedRead.Unproven).Message);
    }

    [Fact]
    public void A_map_value_past_its_end_on_one_path_and_null_on_the_other_keeps_its_offset()
    {
        // As above with r6 = lookup() + 16 (the 16-byte value's end): after the null check the read of 8 bytes at
        // r6 + 0 is past the value on the one path where r6 is not null, so it is refuted.
        Instruction[] slots =
        [
            new(OpCodes.Mov64Imm, 6, 0, 0, 0),
            new(OpCodes.JltImm, 2, 0, (short)(LookupPrologue().Length + 3), 1),
            .. LookupPrologue(),
            new(OpCodes.JeqImm, 0, 0, 2, 0),
            new(OpCodes.Mov64Reg, 6, 0, 0, 0),
            new(OpCodes.Add64Imm, 6, 0, 0, 16),
            new(OpCodes.Mov64Imm, 0, 0, 0, 0),
            new(OpCodes.JeqImm, 6, 0, 1, 0),
            new(OpCodes.LdxDW, 0, 6, 0, 0),
            new(OpCodes.Exit, 0, 0, 0, 0),
        ];
        var analysis = Analyze.Slots(slots);
        Assert.False(analysis.IsSafe);
        Assert.Contains("off=16", analysis.Log);
    }

    private static Instruction[] LookupPrologue() =>
    [
        new(OpCodes.StW, 10, 0, -4, 0),
        .. Analyze.PseudoLddw(1, LddwSource.MapByIndex, 0),
        new(OpCodes.Mov64Reg, 2, 10, 0, 0),
        new(OpCodes.Add64Imm, 2, 0, 0, -4),
        new(OpCodes.Call, 0, 0, 0, 1),
    ];
}
