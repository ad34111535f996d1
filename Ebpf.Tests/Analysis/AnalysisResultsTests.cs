using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Verification;

namespace Ebpf.Tests.Analysis;

/// <summary>The shared analysis the engines read: blocks and the control-flow graph, budget segments, regions, helpers.</summary>
public class AnalysisResultsTests
{
    // 0 mov r0, 0 | 1 jeq r1, 0, +2 | 2 add r0, 1 | 3 ja +1 | 4 ldxb r0, [r10-1] | 5 call local +1 | 6 exit | 7 mov r0, 2 | 8 exit
    private const string Branchy = """
        mov64 r0, 0x0
        jeq r1, 0x0, +2
        add64 r0, 0x1
        ja +1
        ldxb r0, [r10-1]
        call local +1
        exit
        mov64 r0, 0x2
        exit
        """;

    private static EbpfProgram Load(string text) => ProgramLoader.Load(Assembler.Assemble(text));

    [Fact]
    public void The_analysis_is_computed_once_and_kept_with_the_program()
    {
        var program = Load(Branchy);
        Assert.Same(program.Analysis, program.Analysis);
        Assert.Same(program.Analysis.Segments(true), program.Analysis.Segments(true));
        Assert.NotSame(program.Analysis.Segments(true), program.Analysis.Segments(false));
    }

    [Fact]
    public void Blocks_follow_jumps_targets_and_functions()
    {
        var analysis = Load(Branchy).Analysis;
        Assert.Equal(
            [(0, 2, 0, "4,2"), (2, 4, 0, "5"), (4, 5, 0, "5"), (5, 7, 0, ""), (7, 9, 1, "")],
            analysis.Blocks.Select(b => (b.Start, b.End, b.Function, string.Join(",", b.Successors))).ToArray());
        Assert.Equal(3, analysis.BlockIndexOf(6));
    }

    [Fact]
    public void Budget_segments_end_after_every_instruction_that_can_fail_and_recover_the_exact_pc()
    {
        var analysis = Load(Branchy).Analysis;
        var withChecks = analysis.Segments(memoryChecks: true);
        Assert.Equal([2, 0, 2, 0, 1, 1, 1, 2, 0], Enumerable.Range(0, 9).Select(withChecks.LengthAt).ToArray());
        Assert.Equal(0, withChecks.FailingPc(0, 0));
        Assert.Equal(1, withChecks.FailingPc(0, 1));
        Assert.Equal(8, withChecks.FailingPc(7, 1));

        // Without checks a load cannot fail, so it does not end its segment.
        var loads = Load("ldxb r0, [r10-1]\nldxb r0, [r1]\nexit").Analysis;
        Assert.Equal([1, 1, 1], Enumerable.Range(0, 3).Select(loads.Segments(memoryChecks: true).LengthAt).ToArray());
        Assert.Equal([3, 0, 0], Enumerable.Range(0, 3).Select(loads.Segments(memoryChecks: false).LengthAt).ToArray());
    }

    [Fact]
    public void A_segment_with_an_lddw_counts_it_once()
    {
        var segments = Load("lddw r0, 0x1122334455667788\nadd64 r0, 0x1\nexit").Analysis.Segments(true);
        Assert.Equal(3, segments.LengthAt(0));
        Assert.Equal(2, segments.FailingPc(0, 1));
        Assert.Equal(3, segments.FailingPc(0, 2));
    }

    [Fact]
    public void Regions_follow_where_the_base_register_came_from()
    {
        var analysis = Load("""
            mov64 r2, r10
            add64 r2, -0x10
            ldxb r0, [r2]
            ldxb r3, [r1+4]
            ldxdw r4, [r1]
            ldxb r0, [r4]
            call 1
            ldxb r0, [r1]
            exit
            """).Analysis;
        Assert.Equal(AccessRegion.Stack, analysis.RegionOf(2));
        Assert.Equal(AccessRegion.Context, analysis.RegionOf(3));
        Assert.Equal(AccessRegion.Input, analysis.RegionOf(5));
        Assert.Equal(AccessRegion.Input, analysis.RegionOf(7)); // r1 after a call is unknown
    }

    [Fact]
    public void Own_frame_accesses_are_r10_with_a_constant_offset_inside_the_frame()
    {
        var analysis = Load("stxdw [r10-8], r1\nstxdw [r10-520], r1\nldxw r0, [r10-2]\nstxb [r1-1], r1\nexit").Analysis;
        Assert.True(analysis.IsOwnFrameAccess(0, 512));
        Assert.False(analysis.IsOwnFrameAccess(1, 512));
        Assert.True(analysis.IsOwnFrameAccess(1, 1024));
        Assert.False(analysis.IsOwnFrameAccess(2, 512)); // 4 bytes at -2 reach past r10
        Assert.False(analysis.IsOwnFrameAccess(3, 512));
    }

    [Fact]
    public void The_helper_plan_gives_one_slot_per_helper_and_knows_which_calls_may_stop()
    {
        var program = Load("call 5\ncall 6\ncall 5\nexit");
        var table = new HelperTable().Add(5, "simple", (a, _, _, _, _) => a).Add(6, "context", (_, _, _, _, _, _) => 0);
        var plan = HelperPlan.Create(program, new ProgramEnvironment(table), "test");
        Assert.Equal(["simple", "context"], plan.Helpers.Select(h => h.Name).ToArray());
        Assert.Equal([0, 1, 0], new[] { 0, 1, 2 }.Select(plan.SlotOf).ToArray());
        Assert.Equal([false, true, false], new[] { 0, 1, 2 }.Select(pc => plan.MayStop(program, pc)).ToArray());
        Assert.True(plan.AnyMayStop);
        Assert.Null(plan.Callx);

        var withCallx = HelperPlan.Create(Load("mov64 r1, 0x5\ncallx r1\nexit"), new ProgramEnvironment(table), "test");
        Assert.NotNull(withCallx.Callx);
        Assert.True(withCallx.AnyMayStop);
        Assert.Throws<EbpfUnknownHelperException>(() => HelperPlan.Create(Load("call 9\nexit"), new ProgramEnvironment(table), "test"));
    }
}
