using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// bpf_ringbuf_reserve is typed as the kernel's verifier types it: a record of the constant size asked for, or null;
/// submit and discard release it. Strict mode accepts a record written inside its size and released on every path, and
/// rejects (with the reason) a record used after submit, one not released on some path, one not compared with null,
/// and a size that is not a constant; the engines run the proven accesses without checks.
/// </summary>
public sealed class RingBufferRecordTests : IDisposable
{
    /// <summary>Reserves 16 bytes, returns 0 when that fails, writes the 16 bytes and submits them; returns 1.</summary>
    private const string WriteAndSubmit = """
        lddw r1, map_by_idx 0
        mov r2, 16
        mov r3, 0
        call 131
        jeq r0, 0, none
        stdw [r0+0], 7
        stdw [r0+8], 9
        mov r1, r0
        mov r2, 0
        call 132
        mov r0, 1
        exit
        none:
        mov r0, 0
        exit
        """;

    private readonly RingBufferMap ring = new("events", 4096);
    private readonly ProgramEnvironment environment;

    public RingBufferRecordTests()
    {
        environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(ring);
    }

    public void Dispose() => ring.Dispose();

    private SafetyAnalysis Analyze(string source) =>
        ProgramLoader.Load(Assembler.Assemble(source)).Analysis.Safety(SafetyContext.For(environment, ExecutionOptions.Default));

    [Fact]
    public void A_record_written_inside_its_size_and_submitted_is_proven_and_strictly_accepted()
    {
        var analysis = Analyze(WriteAndSubmit);
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        Assert.Equal(AccessOutcome.Proven, analysis.Access(6).Outcome);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(7).Outcome);
        new ProvingVerifier(VerificationMode.Strict, SafetyContext.For(environment, ExecutionOptions.Default)).Verify(Assembler.Assemble(WriteAndSubmit));
        var discarded = Analyze(WriteAndSubmit.Replace("call 132", "call 133", StringComparison.Ordinal));
        Assert.True(discarded.IsProven, Findings.Messages(discarded));
    }

    [Fact]
    public void A_write_past_the_record_is_refuted()
    {
        var analysis = Analyze(WriteAndSubmit.Replace("stdw [r0+8], 9", "stdw [r0+12], 9", StringComparison.Ordinal));
        Assert.Contains(analysis.Errors, e => e.Pc == 7 && e.Message.Contains("is outside the 16-byte value of ring buffer record reserved at pc 4", StringComparison.Ordinal));
    }

    [Fact]
    public void A_record_used_after_submit_is_unproven_with_the_reason()
    {
        string source = WriteAndSubmit.Replace("mov r0, 1\n", "stdw [r6+0], 1\nmov r0, 1\n", StringComparison.Ordinal).Replace("mov r1, r0\n", "mov r1, r0\nmov r6, r0\n", StringComparison.Ordinal);
        var analysis = Analyze(source);
        Assert.True(analysis.IsSafe, Findings.Messages(analysis));
        var finding = Assert.Single(analysis.Unproven);
        Assert.Equal(12, finding.Pc);
        Assert.Equal("r6: the ring buffer record reserved at pc 4 was submitted or discarded: the program may not use it any more", finding.Message);
        var error = Assert.Throws<EbpfVerificationException>(() => new ProvingVerifier(VerificationMode.Strict, SafetyContext.For(environment, ExecutionOptions.Default)).Verify(Assembler.Assemble(source)));
        Assert.Contains("was submitted or discarded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_not_released_on_some_path_is_unproven_at_the_exit()
    {
        // The record is submitted only when its first byte (just written) is 7: the other path leaks it.
        const string source = """
            lddw r1, map_by_idx 0
            mov r2, 8
            mov r3, 0
            call 131
            jeq r0, 0, none
            stdw [r0+0], 7
            ldxb r1, [r0+0]
            jne r1, 7, none
            mov r1, r0
            mov r2, 0
            call 132
            none:
            mov r0, 0
            exit
            """;
        var analysis = Analyze(source);
        var finding = Assert.Single(analysis.Unproven);
        Assert.Equal(13, finding.Pc);
        Assert.Equal("the ring buffer record reserved at pc 4 may be neither submitted nor discarded on a path to this exit (the kernel's verifier rejects the unreleased reference)", finding.Message);
    }

    [Fact]
    public void A_record_not_compared_with_null_and_a_size_not_constant_are_unproven()
    {
        var unchecked_ = Analyze(WriteAndSubmit.Replace("jeq r0, 0, none\n", string.Empty, StringComparison.Ordinal));
        Assert.Contains(unchecked_.Unproven, f => f.Pc == 5 && f.Message == "r0: may be null (the record bpf_ringbuf_reserve returned at pc 4: compare it with 0 first)");
        Assert.Contains(unchecked_.Unproven, f => f.Message.StartsWith("r1: may be null (the record reserved at pc 4", StringComparison.Ordinal));

        // A size between 1 and 16 the program draws at random: the kernel requires a constant, and nothing is typed.
        var variable = Analyze(WriteAndSubmit.Replace("lddw r1, map_by_idx 0\nmov r2, 16\n", "call 7\nmov r2, r0\nand r2, 15\nadd r2, 1\nlddw r1, map_by_idx 0\n", StringComparison.Ordinal));
        Assert.Contains(variable.Unproven, f => f.Message.StartsWith("r2: the record size is not a constant", StringComparison.Ordinal));
        Assert.Equal(0, variable.ProvenCount);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_engines_write_a_proven_record_without_checks_and_the_consumer_reads_it(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(WriteAndSubmit));
        using var compiled = TestEngines.Get(engine).Compile(program, environment, ExecutionOptions.Default);
        var statistics = Assert.IsAssignableFrom<IMemoryCheckStatistics>(compiled);
        Assert.Equal((0, 2), (statistics.CheckedAccesses, statistics.ProvenAccesses));
        Assert.Equal(1UL, compiled.Run());
        Assert.True(ring.TryRead(out var record));
        Assert.Equal([7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0], record);
    }
}
