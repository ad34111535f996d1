using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Context and packet pointer kinds: with a <see cref="ContextLayout"/>, r1 is the context, loads must hit its fields,
/// the packet fields give packet, packet-end and meta pointers, and comparisons with the packet end prove ranges as
/// the kernel does with data_end. A small made-up layout stands in for xdp_md and __sk_buff.
/// </summary>
public class ContextLayoutTests
{
    /// <summary>data @0, data_end @4, data_meta @8 (4 bytes each), ifindex @12 read-only, mark @16 writable, hash @20 with narrow loads; 24-27 is padding.</summary>
    private static readonly ContextLayout Layout = new("test_md", 28,
    [
        new ContextField("data", 0, 4, ContextFieldKind.PacketStart),
        new ContextField("data_end", 4, 4, ContextFieldKind.PacketEnd),
        new ContextField("data_meta", 8, 4, ContextFieldKind.PacketMeta),
        new ContextField("ifindex", 12, 4),
        new ContextField("mark", 16, 4, Writable: true),
        new ContextField("hash", 20, 4, NarrowLoads: true),
    ]);

    private const uint AdjustHead = 44;
    private const uint Log = 45;

    private static SafetyContext Context() => new(
        [
            KeyValuePair.Create(AdjustHead, (HelperSignature?)(HelperSignature.Of(HelperArgumentKind.Context, HelperArgumentKind.Scalar) with { ChangesPacketData = true })),
            KeyValuePair.Create(Log, (HelperSignature?)HelperSignature.Of(HelperArgumentKind.Context)),
        ],
        layout: Layout);

    private static SafetyAnalysis Run(string asm) => Analyze.Asm(asm, Context());

    /// <summary>Prologue: r2 = data, r3 = data_end, r4 = data + 14.</summary>
    private const string Prologue = "ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov r4, r2\nadd r4, 14\n";

    /// <summary>
    /// Every comparison form of pkt + 14 against data_end, in both operand orders, jumping either when the packet is
    /// too short or when it is long enough: the side where it is long enough proves <c>bytes</c> bytes (15 where the
    /// comparison is strict: pkt + 14 &lt; end), the other side proves nothing.
    /// </summary>
    [Theory]
    [InlineData("jgt r4, r3", false, 14)] // if (pkt + 14 > end) too short
    [InlineData("jlt r3, r4", false, 14)] // if (end < pkt + 14) too short
    [InlineData("jge r4, r3", false, 15)] // if (pkt + 14 >= end) too short
    [InlineData("jle r3, r4", false, 15)] // if (end <= pkt + 14) too short
    [InlineData("jle r4, r3", true, 14)] // if (pkt + 14 <= end) long enough
    [InlineData("jge r3, r4", true, 14)] // if (end >= pkt + 14) long enough
    [InlineData("jlt r4, r3", true, 15)] // if (pkt + 14 < end) long enough
    [InlineData("jgt r3, r4", true, 15)] // if (end > pkt + 14) long enough
    public void Each_comparison_form_with_the_packet_end_proves_the_range_on_its_side(string compare, bool jumpsWhenLongEnough, int bytes)
    {
        string enough = $"ldxb r0, [r2+{bytes - 1}]\nldxb r5, [r2+{bytes}]\nexit\n";
        string tooShort = "ldxb r0, [r2+0]\nexit\n";
        string asm = Prologue + $"{compare}, other\n" + (jumpsWhenLongEnough ? tooShort : enough) + "other:\n" + (jumpsWhenLongEnough ? enough : tooShort);
        var analysis = Run(asm);
        Assert.True(analysis.IsSafe, Findings.Messages(analysis));
        int enoughPc = jumpsWhenLongEnough ? 7 : 5;
        int tooShortPc = jumpsWhenLongEnough ? 5 : 8;
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Input, bytes - 1, bytes - 1, 1), analysis.Access(enoughPc));
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(enoughPc + 1).Outcome);
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(tooShortPc).Outcome);
        Assert.Equal($"r2: offset {bytes} (1 byte) may exceed the packet length, len in [{bytes}, inf)", analysis.Unproven.Single(f => f.Pc == enoughPc + 1).Message);
    }

    [Theory]
    [InlineData("jsgt r4, r3")]
    [InlineData("jeq r4, r3")]
    [InlineData("jset r4, r3")]
    public void Signed_and_other_comparisons_of_packet_pointers_prove_nothing(string compare)
    {
        var analysis = Run(Prologue + $"{compare}, out\nldxb r0, [r2+0]\nexit\nout:\nmov r0, 0\nexit");
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(5).Outcome);
    }

    [Fact]
    public void Equality_with_the_packet_end_proves_the_range()
    {
        var analysis = Run(Prologue + "jne r4, r3, out\nldxb r0, [r2+13]\nexit\nout:\nmov r0, 0\nexit");
        Assert.Equal(AccessOutcome.Proven, analysis.Access(5).Outcome);
    }

    [Fact]
    public void A_variable_offset_into_the_packet_is_proven_by_comparing_its_end()
    {
        var analysis = Run(Prologue + """
            ldxw r5, [r1+12]
            and r5, 255
            add r2, r5
            mov r6, r2
            add r6, 4
            jgt r6, r3, out
            ldxw r0, [r2+0]
            exit
            out:
            mov r0, 0
            exit
            """);
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Input, 0, 255, 4), analysis.Access(10));
    }

    [Fact]
    public void The_distance_from_data_to_data_end_is_the_packet_length()
    {
        var analysis = Run("ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov r4, r3\nsub r4, r2\njlt r4, 20, out\nldxb r0, [r2+19]\nexit\nout:\nmov r0, 0\nexit");
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(5).Outcome);
    }

    [Fact]
    public void The_meta_pointer_is_proven_by_comparing_it_with_the_packet_start()
    {
        string check = "ldxw r2, [r1+8]\nldxw r3, [r1+0]\nmov r4, r2\nadd r4, 4\njgt r4, r3, out\n";
        var analysis = Run(check + "ldxw r0, [r2+0]\nexit\nout:\nmov r0, 0\nexit");
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.PacketMeta, 0, 0, 4), analysis.Access(5));

        var past = Run(check + "ldxw r0, [r2+1]\nexit\nout:\nmov r0, 0\nexit");
        Assert.Equal(AccessOutcome.Unknown, past.Access(5).Outcome);
        Assert.Contains("may run past the packet metadata, proven 4 bytes long", Findings.Messages(past));

        var unchecked_ = Run("ldxw r2, [r1+8]\nldxb r0, [r2+0]\nexit");
        Assert.Equal(AccessOutcome.Unknown, unchecked_.Access(1).Outcome);
    }

    [Theory]
    [InlineData("ldxh r0, [r1+0]", "r1: 2 bytes at offset 0 does not match field data (offset 0, 4 bytes) of test_md; accesses must hit a field exactly")]
    [InlineData("ldxdw r0, [r1+12]", "r1: 8 bytes at offset 12 does not match field ifindex (offset 12, 4 bytes) and mark (offset 16, 4 bytes) of test_md; accesses must hit a field exactly")]
    [InlineData("ldxw r0, [r1+24]", "r1: 4 bytes at offset 24 is not a field of test_md")]
    [InlineData("ldxw r0, [r1+28]", "r1: 4 bytes at offset 28 is outside the 28-byte test_md")]
    [InlineData("ldxw r0, [r1-4]", "r1: 4 bytes at offset -4 is outside the 28-byte test_md")]
    [InlineData("ldxb r0, [r1+13]", "r1: 1 byte at offset 13 does not match field ifindex (offset 12, 4 bytes) of test_md; accesses must hit a field exactly")]
    [InlineData("stw [r1+12], 1", "r1: field ifindex of test_md is read-only")]
    [InlineData("stw [r1+0], 1", "r1: field data of test_md is read-only")]
    [InlineData("ldxsw r0, [r1+4]", "r1: field data_end of test_md holds a pointer: it cannot be loaded sign-extended")]
    [InlineData("add r1, 4\nldxw r0, [r1+0]", "r1: the context pointer was moved by 4; address context fields with the instruction's offset from the unmodified pointer, as the kernel requires")]
    [InlineData("mov r2, 0\nlock add [r1+16], r2", "r1: atomic operations on the context are not allowed")]
    public void Context_accesses_that_miss_a_field_are_refuted(string access, string message)
    {
        var analysis = Run(access + "\nmov r0, 0\nexit");
        var error = Assert.Single(analysis.Errors);
        Assert.Equal(message, error.Message);
        Assert.Equal(AccessOutcome.Refuted, analysis.Access(error.Pc).Outcome);
        Assert.Null(analysis.ContextFieldAt(error.Pc));
    }

    [Fact]
    public void A_variable_offset_into_the_context_is_refuted()
    {
        var analysis = Run("ldxw r2, [r1+12]\nand r2, 4\nadd r1, r2\nldxw r0, [r1+0]\nexit");
        Assert.Equal("r1: the context pointer has a variable offset (u[0, 4] bits=(0x0; 0x4)); context fields are addressed with constant offsets", Assert.Single(analysis.Errors).Message);
    }

    [Fact]
    public void The_packet_end_pointer_is_never_dereferenced()
    {
        var analysis = Run("ldxw r3, [r1+4]\nldxb r0, [r3-1]\nexit");
        Assert.Equal("r3: is the packet-end pointer: it is compared with packet pointers, never dereferenced", Assert.Single(analysis.Errors).Message);
    }

    [Fact]
    public void Field_loads_give_their_kinds_and_are_named_per_pc()
    {
        var analysis = Run("""
            ldxw r2, [r1+0]
            ldxw r3, [r1+4]
            ldxw r4, [r1+8]
            ldxw r5, [r1+12]
            ldxb r6, [r1+21]
            ldxh r7, [r1+22]
            stxw [r1+16], r5
            stw [r10-8], 0
            mov r0, 0
            exit
            """);
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal("data", analysis.ContextFieldAt(0)?.Name);
        Assert.Equal("data_end", analysis.ContextFieldAt(1)?.Name);
        Assert.Equal("data_meta", analysis.ContextFieldAt(2)?.Name);
        Assert.Equal("ifindex", analysis.ContextFieldAt(3)?.Name);
        Assert.Equal("hash", analysis.ContextFieldAt(4)?.Name);
        Assert.Equal("hash", analysis.ContextFieldAt(5)?.Name);
        Assert.Equal("mark", analysis.ContextFieldAt(6)?.Name);
        Assert.Null(analysis.ContextFieldAt(7)); // a stack store
        Assert.Null(analysis.ContextFieldAt(8)); // not an access
        Assert.Equal(new AccessProof(AccessOutcome.Proven, ValueKind.Context, 16, 16, 4), analysis.Access(6));
        Assert.Contains("r2=input(off=0) r3=pkt_end r4=pkt_meta(off=0) r5=scalar(u[0, 4294967295])", analysis.Log);
        Assert.Throws<ArgumentOutOfRangeException>(() => analysis.ContextFieldAt(10));
    }

    [Fact]
    public void Storing_a_pointer_into_the_context_is_a_leak_strict_mode_rejects()
    {
        var analysis = Run("ldxw r2, [r1+0]\nstxw [r1+16], r2\nmov r0, 0\nexit");
        Assert.True(analysis.IsSafe);
        Assert.False(analysis.IsProven);
        Assert.Equal("r2: stores a pointer (input(off=0)) into context field mark (a pointer leak the kernel rejects)", Assert.Single(analysis.Unproven).Message);
    }

    [Fact]
    public void An_instruction_that_accesses_the_context_on_one_path_and_the_stack_on_another_is_an_error()
    {
        // f is analysed once per call site: from the first with the context in r1, from the second with the stack
        var analysis = Run("call local f\nstw [r10-8], 0\nmov r1, r10\nadd r1, -8\ncall local f\nmov r0, 0\nexit\nf:\nldxw r0, [r1+0]\nexit");
        Assert.Contains(analysis.Errors, e => e.Pc == 7 && e.Message == "accesses the context on some paths and other memory on others (context accesses are rewritten per instruction)");
    }

    [Fact]
    public void With_a_layout_only_r1_and_r10_are_set_at_entry()
    {
        var analysis = Run("mov r0, r2\nexit");
        Assert.Equal("r2 is read before it is written (uninitialised on some path)", Assert.Single(analysis.Errors).Message);
        Assert.Contains("; r1=ctx(off=0) r10=fp0+0", analysis.Log);
    }

    [Fact]
    public void Without_a_layout_r1_is_the_input_and_r2_its_length()
    {
        var analysis = Analyze.Asm("jlt r2, 4, +1\nldxw r0, [r1+0]\nmov r0, 0\nexit", new SafetyContext());
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Null(analysis.ContextFieldAt(1));
        Assert.Equal(ValueKind.Input, analysis.Access(1).Region);
    }

    [Fact]
    public void A_helper_that_changes_packet_data_forgets_packet_pointers_and_ranges()
    {
        string check = Prologue + "jgt r4, r3, out\nmov r6, r2\nstxdw [r10-8], r2\nmov r2, 4\n";
        string tail = "\nexit\nout:\nmov r0, 0\nexit";
        var before = Run(check + "ldxb r0, [r6+0]" + tail);
        Assert.True(before.IsProven, Findings.Messages(before));

        var viaRegister = Run(check + $"call {AdjustHead}\nldxb r0, [r6+0]" + tail);
        Assert.Equal(AccessOutcome.Unknown, viaRegister.Access(9).Outcome);
        Assert.Equal("r6: the analysis does not know where it points", viaRegister.Unproven.Single(f => f.Pc == 9).Message);

        var viaSpill = Run(check + $"call {AdjustHead}\nldxdw r6, [r10-8]\nldxb r0, [r6+0]" + tail);
        Assert.Equal(AccessOutcome.Unknown, viaSpill.Access(10).Outcome);

        var reloaded = Run(check + $"call {AdjustHead}\nldxw r2, [r1+0]" + tail);
        Assert.Contains("r1 is read before it is written", Findings.Messages(reloaded)); // r1-r5 die at a call: the context must be kept in r6-r9

        var unchanged = Run(check + $"mov r1, r10\nmov r7, r1\nldxw r1, [r10-8]\nmov r1, r7\ncall {Log}\nldxb r0, [r6+0]" + tail);
        Assert.Contains("the helper expects the context pointer (r1 at entry, unmodified)", Findings.Messages(unchanged));
    }

    [Fact]
    public void A_helper_that_changes_packet_data_forgets_relations_of_numbers_and_callers_saved_pointers()
    {
        // r7 = data_end - data (the old length, at least 20); after the call, data + r7 - 1 is past the new end
        var number = Run($"mov r6, r1\nldxw r2, [r6+0]\nldxw r3, [r6+4]\nmov r7, r3\nsub r7, r2\njlt r7, 20, out\nmov r1, r6\nmov r2, 10\ncall {AdjustHead}\nldxw r2, [r6+0]\nadd r2, r7\nldxb r0, [r2-1]\nexit\nout:\nmov r0, 0\nexit");
        Assert.True(number.IsSafe, Findings.Messages(number));
        Assert.Equal(AccessOutcome.Unknown, number.Access(11).Outcome);

        // r7 = a packet pointer checked for 14 bytes, saved across a local call whose callee changes the packet
        var saved = Run(Prologue + $"mov r6, r1\njgt r4, r3, out\nmov r7, r2\nmov r1, r6\ncall local f\nldxb r0, [r7+0]\nexit\nout:\nmov r0, 0\nexit\nf:\nmov r2, 10\ncall {AdjustHead}\nmov r0, 0\nexit");
        Assert.True(saved.IsSafe, Findings.Messages(saved));
        Assert.Equal(AccessOutcome.Unknown, saved.Access(9).Outcome);
    }

    [Fact]
    public void A_helper_without_a_changes_flag_keeps_packet_ranges()
    {
        var analysis = Run(Prologue + $"mov r6, r1\njgt r4, r3, out\nmov r7, r2\ncall {Log}\nldxb r0, [r7+13]\nexit\nout:\nmov r0, 0\nexit");
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
    }

    [Fact]
    public void The_context_argument_of_a_helper_must_be_the_context()
    {
        var good = Run($"call {Log}\nexit");
        Assert.True(good.IsProven, Findings.Messages(good));
        var bad = Run($"add r1, 4\ncall {Log}\nexit");
        Assert.Equal("r1: the helper expects the context pointer (r1 at entry, unmodified), but r1 is ctx(off=4)", Assert.Single(bad.Errors).Message);
    }

    [Fact]
    public void A_helper_with_no_signature_forgets_packet_ranges_when_the_layout_has_a_packet()
    {
        var context = new SafetyContext([KeyValuePair.Create(7u, (HelperSignature?)null)], layout: Layout);
        var analysis = Analyze.Asm(Prologue + "jgt r4, r3, out\nmov r6, r2\ncall 7\nldxb r0, [r6+0]\nexit\nout:\nmov r0, 0\nexit", context);
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(7).Outcome);
    }

    [Fact]
    public void Strict_verification_rejects_an_unchecked_packet_read_and_accepts_a_checked_one()
    {
        var strict = new ProvingVerifier(VerificationMode.Strict, Context());
        var e = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(Analyze.Program("ldxw r2, [r1+0]\nldxb r0, [r2+0]\nexit").Bytes.AsSpan(), strict));
        Assert.Equal(1, e.Pc);
        Assert.Contains("not proven: r2: offset 0 (1 byte) may exceed the packet length", e.Message);
        var program = EbpfProgram.Create(Analyze.Program(Prologue + "jgt r4, r3, out\nldxb r0, [r2+13]\nexit\nout:\nmov r0, 0\nexit").Bytes.AsSpan(), strict);
        Assert.NotNull(program);
    }

    [Theory]
    [InlineData(0, 3, ContextFieldKind.Scalar, false, false, "context field f: the size must be 1, 2, 4 or 8 bytes, not 3")]
    [InlineData(26, 4, ContextFieldKind.Scalar, false, false, "context field f: offset 26 + 4 bytes lies outside the 28-byte context")]
    [InlineData(-4, 4, ContextFieldKind.Scalar, false, false, "context field f: offset -4 + 4 bytes lies outside the 28-byte context")]
    [InlineData(int.MaxValue, 8, ContextFieldKind.Scalar, false, false, "context field f: offset 2147483647 + 8 bytes lies outside the 28-byte context")]
    [InlineData(0, 4, ContextFieldKind.PacketStart, true, false, "context field f: a packet pointer field is neither writable nor loadable in parts")]
    [InlineData(0, 4, ContextFieldKind.PacketEnd, false, true, "context field f: a packet pointer field is neither writable nor loadable in parts")]
    [InlineData(0, 4, (ContextFieldKind)9, false, false, "context field f: 9 is not a field kind")]
    public void Layouts_with_bad_fields_are_refused(int offset, int size, ContextFieldKind kind, bool writable, bool narrow, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new ContextLayout("c", 28, [new ContextField("f", offset, size, kind, writable, narrow)]));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Layouts_with_overlapping_or_duplicate_fields_are_refused()
    {
        var overlap = Assert.Throws<ArgumentException>(() => new ContextLayout("c", 16, [new ContextField("a", 0, 8), new ContextField("b", 4, 4)]));
        Assert.StartsWith("context fields a and b overlap at offset 4", overlap.Message);
        var duplicate = Assert.Throws<ArgumentException>(() => new ContextLayout("c", 16, [new ContextField("a", 0, 4), new ContextField("a", 4, 4)]));
        Assert.StartsWith("context field a: every field needs a distinct, non-empty name", duplicate.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContextLayout("c", 0, []));
    }

    [Fact]
    public void Field_lookup_follows_the_kernel_rules_for_exact_and_narrow_accesses()
    {
        Assert.Equal("hash", Layout.FieldAt(20, 4)?.Name);
        Assert.Equal("hash", Layout.FieldAt(22, 2)?.Name);
        Assert.Null(Layout.FieldAt(21, 2)); // misaligned narrow load
        Assert.Null(Layout.FieldAt(20, 8)); // wider than the field
        Assert.Null(Layout.FieldAt(13, 1)); // ifindex allows no narrow loads
        Assert.Null(Layout.FieldAt(-1, 1));
        Assert.Null(Layout.FieldAt(long.MaxValue, 1));
        Assert.Null(Layout.FieldAt(20, 0));
        Assert.Null(Layout.FieldAt(20, -2));
        Assert.True(Layout.HasPacket);
        Assert.False(new ContextLayout("c", 8, [new ContextField("a", 0, 8)]).HasPacket);
    }

    /// <summary>mark @0 (writable, narrow loads), cb @8 (20 raw bytes, writable), ts @32 (8 bytes, read-only); 4-7 and 28-31 are padding.</summary>
    private static readonly ContextLayout RawLayout = new("skb", 40,
    [
        new ContextField("mark", 0, 4, Writable: true, NarrowLoads: true),
        new ContextField("cb", 8, 20, Writable: true, RawBytes: true),
        new ContextField("ts", 32, 8),
    ]);

    [Fact]
    public void A_field_of_raw_bytes_takes_any_aligned_access_inside_it_and_other_stores_write_whole_fields()
    {
        // cb: loads and stores of 1, 2, 4 or 8 bytes aligned to their size, inside its 20 bytes
        Assert.Equal("cb", RawLayout.FieldAt(8, 8, store: true)?.Name);
        Assert.Equal("cb", RawLayout.FieldAt(16, 8)?.Name);
        Assert.Equal("cb", RawLayout.FieldAt(24, 4, store: true)?.Name);
        Assert.Equal("cb", RawLayout.FieldAt(26, 2)?.Name);
        Assert.Equal("cb", RawLayout.FieldAt(27, 1, store: true)?.Name);
        Assert.Null(RawLayout.FieldAt(24, 8)); // reaches past cb (24 + 8 > 28)
        Assert.Null(RawLayout.FieldAt(12, 8)); // misaligned
        Assert.Null(RawLayout.FieldAt(8, 3));

        // mark: narrow loads, but a store writes it whole
        Assert.Equal("mark", RawLayout.FieldAt(2, 2)?.Name);
        Assert.Null(RawLayout.FieldAt(2, 2, store: true));
        Assert.Equal("mark", RawLayout.FieldAt(0, 4, store: true)?.Name);

        Assert.Null(RawLayout.Refusal(0, 4, store: true));
        Assert.Null(RawLayout.Refusal(16, 8, store: true));
        Assert.Equal("2 bytes at offset 2 does not match field mark (offset 0, 4 bytes) of skb; a store writes a whole field", RawLayout.Refusal(2, 2, store: true));
        Assert.Equal("8 bytes at offset 24 does not match field cb (offset 8, 20 bytes) of skb; accesses must hit a field exactly", RawLayout.Refusal(24, 8, store: false));
        Assert.Equal("field ts of skb is read-only", RawLayout.Refusal(32, 8, store: true));
        Assert.Equal("8 bytes at offset 36 is outside the 40-byte skb", RawLayout.Refusal(36, 8, store: false));
        Assert.Equal("1 byte at offset 5 is not a field of skb", RawLayout.Refusal(5, 1, store: false));
        Assert.Equal("1 byte at offset 9223372036854775807 is outside the 40-byte skb", RawLayout.Refusal(long.MaxValue, 1, store: false));
    }

    [Fact]
    public void The_analysis_applies_the_raw_byte_and_whole_store_rules()
    {
        var context = new SafetyContext([], layout: RawLayout);
        var wide = Analyze.Asm("ldxdw r0, [r1+16]\nstxdw [r1+8], r0\nstb [r1+27], 1\nldxh r2, [r1+2]\nexit", context);
        Assert.True(wide.IsProven, Findings.Messages(wide));
        Assert.Equal("cb", wide.ContextFieldAt(0)?.Name);
        Assert.Equal("mark", wide.ContextFieldAt(3)?.Name);

        var narrowStore = Analyze.Asm("mov r0, 0\nsth [r1+2], 7\nexit", context);
        Assert.Equal("r1: 2 bytes at offset 2 does not match field mark (offset 0, 4 bytes) of skb; a store writes a whole field", Assert.Single(narrowStore.Errors).Message);
        Assert.Equal(AccessOutcome.Refuted, narrowStore.Access(1).Outcome);
    }

    [Fact]
    public void Raw_byte_fields_have_1_to_64_bytes_and_hold_no_pointers()
    {
        Assert.Equal(64, new ContextLayout("c", 64, [new ContextField("b", 0, 64, Writable: true, RawBytes: true)]).Fields[0].Size);
        var big = Assert.Throws<ArgumentException>(() => new ContextLayout("c", 80, [new ContextField("b", 0, 65, RawBytes: true)]));
        Assert.StartsWith("context field b: a field of raw bytes has 1 to 64 of them, not 65", big.Message);
        var pointer = Assert.Throws<ArgumentException>(() => new ContextLayout("c", 8, [new ContextField("p", 0, 4, ContextFieldKind.PacketStart, RawBytes: true)]));
        Assert.StartsWith("context field p: a packet pointer field is neither writable nor loadable in parts", pointer.Message);
    }

    /// <summary>
    /// Where a narrow load may read: anywhere (aligned), only at the field's start, or only in its first half. The
    /// expected answers are Linux 6.18's for struct bpf_sock (Kernel/KernelSocketAccessTests): family (offset 4) took
    /// 2 bytes at 4 and refused 2 at 6; dst_port (offset 48, a 16-bit port in a 32-bit slot) took 4 and 2 bytes at 48
    /// and 1 at 49, and refused 2 at 50.
    /// </summary>
    [Theory]
    [InlineData(NarrowLoadPlacement.AtStart, 4, 4, true)]
    [InlineData(NarrowLoadPlacement.AtStart, 4, 2, true)]
    [InlineData(NarrowLoadPlacement.AtStart, 4, 1, true)]
    [InlineData(NarrowLoadPlacement.AtStart, 6, 2, false)]
    [InlineData(NarrowLoadPlacement.AtStart, 5, 1, false)]
    [InlineData(NarrowLoadPlacement.FirstHalf, 4, 4, true)]
    [InlineData(NarrowLoadPlacement.FirstHalf, 4, 2, true)]
    [InlineData(NarrowLoadPlacement.FirstHalf, 5, 1, true)]
    [InlineData(NarrowLoadPlacement.FirstHalf, 6, 2, false)]
    [InlineData(NarrowLoadPlacement.FirstHalf, 6, 1, false)]
    [InlineData(NarrowLoadPlacement.Anywhere, 6, 2, true)]
    [InlineData(NarrowLoadPlacement.Anywhere, 7, 1, true)]
    public void Narrow_loads_read_where_the_field_places_them(NarrowLoadPlacement placement, int offset, int size, bool allowed)
    {
        var field = new ContextField("f", 4, 4, NarrowLoads: true, Narrow: placement);
        Assert.Equal(allowed, field.Covers(offset, size));
        Assert.False(field.Covers(offset, size, store: true) && size < 4); // stores still write whole fields
    }

    [Fact]
    public void A_socket_field_needs_socket_layouts_of_read_only_numbers()
    {
        var socket = new ContextLayout("sock", 8, [new ContextField("family", 0, 4)]);
        ContextField[] fields = [new ContextField("sk", 0, 8, ContextFieldKind.Socket)];
        var missing = Assert.Throws<ArgumentException>(() => new ContextLayout("ctx", 8, fields));
        Assert.StartsWith("a layout with a socket field needs the socket layouts", missing.Message, StringComparison.Ordinal);
        var writable = new ContextLayout("sock", 8, [new ContextField("mark", 0, 4, Writable: true)]);
        var bad = Assert.Throws<ArgumentException>(() => new ContextLayout("ctx", 8, fields, socket, writable));
        Assert.StartsWith("socket layout sock: field mark must be a read-only number", bad.Message, StringComparison.Ordinal);
        var narrow = Assert.Throws<ArgumentException>(() => new ContextLayout("ctx", 8, [new ContextField("sk", 0, 4, ContextFieldKind.Socket)], socket, socket));
        Assert.StartsWith("context field sk: a socket pointer field is 8 bytes", narrow.Message, StringComparison.Ordinal);

        var layout = new ContextLayout("ctx", 8, fields, socket, socket);
        Assert.Same(socket, layout.Socket);
        Assert.False(layout.HasPacket);
    }
}
