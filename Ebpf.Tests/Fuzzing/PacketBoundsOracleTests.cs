using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Diagnostics;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Kernel;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// The soundness oracle's packet check: the engines stop a kernel program's accesses only at the edges of the whole
/// packet buffer (headroom and tailroom included), so hand-built XDP programs that read the headroom, the tailroom or
/// metadata that is not there run to a verdict on every engine; given a forged proof that calls such an access proven
/// inside the packet (or the metadata), the oracle reports it, and it accepts the same proof where it holds.
/// </summary>
public class PacketBoundsOracleTests
{
    /// <summary>xdp_md: data at 0, data_end at 4, data_meta at 8.</summary>
    private const string HeadroomRead = "ldxw r2, [r1+0]\nldxw r0, [r2-8]\nexit";

    private const string TailroomRead = "ldxw r2, [r1+0]\nldxw r0, [r2+60]\nexit";

    private const string MissingMetadataRead = "ldxw r2, [r1+8]\nldxw r0, [r2+0]\nexit";

    private const string PacketRead = "ldxw r2, [r1+0]\nldxw r0, [r2+56]\nexit";

    /// <summary>xdp_adjust_meta(ctx, -8) (helper 54), then a read of the metadata's second word from a reloaded data_meta.</summary>
    private const string MetadataRead = "mov r6, r1\nmov r2, -8\ncall 54\nldxw r2, [r6+8]\nldxw r0, [r2+4]\nexit";

    /// <summary>A 60-byte frame (IPv4 EtherType) whose bytes are all nonzero.</summary>
    private static readonly byte[] Frame = [.. Enumerable.Repeat((byte)0xab, 12), 0x08, 0x00, 0x45, .. Enumerable.Repeat((byte)0xcd, 45)];

    private static DifferentialCase Case(string source) => new(
        EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance),
        Frame,
        GeneratedEnvironments.Create().For(KernelProgramType.Xdp),
        GeneratedCases.OptionsFor(null),
        source)
    {
        KernelType = KernelProgramType.Xdp,
    };

    /// <summary>A proof that says the access at <paramref name="pc"/> is proven in <paramref name="region"/> at <paramref name="offset"/>, and nothing else.</summary>
    private static Func<int, AccessProof> Forged(int pc, ValueKind region, long offset) =>
        at => at == pc ? new AccessProof(AccessOutcome.Proven, region, offset, offset, 4) : new AccessProof(AccessOutcome.NotAnAccess, ValueKind.Uninitialized, 0, 0, 0);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Reads_outside_the_packet_but_inside_the_buffer_trip_no_engine_check(string engine)
    {
        foreach (string source in (string[])[HeadroomRead, TailroomRead, MissingMetadataRead])
        {
            var generated = Case(source);
            var verdict = new DifferentialRunner([TestEngines.Get(engine)]).CompareKernel(generated.Program, KernelProgramType.Xdp, Frame, generated.Environment, generated.Options);
            Assert.StartsWith("retval=0x", verdict.Reference, StringComparison.Ordinal);
            Assert.Null(verdict.ReferenceViolationPc);
        }
    }

    [Theory]
    [InlineData(HeadroomRead, -8, "packet [data, data_end)", "offset -8 of its 60 bytes")]
    [InlineData(HeadroomRead, 0, "packet [data, data_end)", "offset -8 of its 60 bytes")]
    [InlineData(TailroomRead, 60, "packet [data, data_end)", "offset 60 of its 60 bytes")]
    public void A_forged_proof_of_a_packet_read_outside_data_and_data_end_is_caught(string source, long claimed, string region, string touched)
    {
        var oracle = PacketBoundsOracle.Run(Case(source), Forged(1, ValueKind.Input, claimed));
        Assert.Equal(1, oracle.Checked);
        Assert.NotNull(oracle.Violation);
        Assert.Contains($"the access at pc 1 was proven inside the {region}", oracle.Violation, StringComparison.Ordinal);
        Assert.EndsWith(touched, oracle.Violation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_proof_of_a_metadata_read_where_there_is_none_is_caught()
    {
        var oracle = PacketBoundsOracle.Run(Case(MissingMetadataRead), Forged(1, ValueKind.PacketMeta, 0));
        Assert.Equal(1, oracle.Checked);
        Assert.Equal("the access at pc 1 was proven inside the metadata [data_meta, data) at offset [0, 0] but touched 4 byte(s) at offset 0 of its 0 bytes", oracle.Violation);
    }

    [Fact]
    public void A_proof_whose_offset_range_misses_the_access_is_caught_even_inside_the_packet()
    {
        var oracle = PacketBoundsOracle.Run(Case(PacketRead), Forged(1, ValueKind.Input, 40));
        Assert.Equal("the access at pc 1 was proven inside the packet [data, data_end) at offset [40, 40] but touched 4 byte(s) at offset 56 of its 60 bytes", oracle.Violation);
    }

    [Fact]
    public void Proofs_that_hold_pass_with_the_edges_as_the_helpers_moved_them()
    {
        var packet = PacketBoundsOracle.Run(Case(PacketRead), Forged(1, ValueKind.Input, 56));
        Assert.Equal((1L, (string?)null), (packet.Checked, packet.Violation));

        // after xdp_adjust_meta(-8) the metadata is 8 bytes long: its second word is inside
        var meta = PacketBoundsOracle.Run(Case(MetadataRead), Forged(4, ValueKind.PacketMeta, 4));
        Assert.Equal((1L, (string?)null), (meta.Checked, meta.Violation));

        // unproven accesses are not the oracle's business
        var none = PacketBoundsOracle.Run(Case(HeadroomRead), Forged(99, ValueKind.Input, 0));
        Assert.Equal((0L, (string?)null), (none.Checked, none.Violation));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_observed_test_run_needs_an_engine_whose_runs_can_be_observed(string engine)
    {
        var generated = Case(PacketRead);
        using var loaded = KernelProgram.Load(generated.Program, KernelProgramType.Xdp, generated.Environment, TestEngines.Get(engine), generated.Options, StructuralOnlyVerifier.Instance);
        var counting = new CountingObserver();
        if (TestEngines.Get(engine).Capabilities.HasFlag(EngineCapabilities.Interpreted))
        {
            Assert.Equal(0xcdcdcdcdu, loaded.TestRunObserved(Frame, counting).ReturnValue); // bytes 56-59 of the frame
            Assert.Equal(3, counting.Steps);
        }
        else
        {
            var error = Assert.Throws<EbpfTestRunException>(() => loaded.TestRunObserved(Frame, counting));
            Assert.Equal($"the {engine} engine cannot run a program under an observer (the interpreter can)", error.Message);
        }
    }

    [Fact]
    public void Only_kernel_programs_are_checked()
    {
        var raw = Case(PacketRead) with { KernelType = null };
        Assert.Throws<ArgumentException>(() => PacketBoundsOracle.Run(raw, Forged(1, ValueKind.Input, 0)));
    }

    private sealed class CountingObserver : IInstructionObserver
    {
        public int Steps { get; private set; }

        public void OnInstruction(in InstructionStep step) => Steps++;
    }
}
