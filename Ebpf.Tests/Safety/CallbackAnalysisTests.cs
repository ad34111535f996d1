using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Maps;
using Ebpf.Tests.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The safety analysis follows callbacks (bpf_loop, bpf_for_each_map_elem) from the helper call as the kernel's verifier
/// does: in a frame of their own, with the arguments the helper gives, for any number of runs.
/// </summary>
public class CallbackAnalysisTests
{
    private static readonly ProgramEnvironment Linux = LinuxHelpers.Register(new ProgramEnvironment());

    private static SafetyAnalysis Analyze(string source, ProgramEnvironment? environment = null) =>
        ProgramLoader.Load(Assembler.Assemble(source)).Analysis.Safety(SafetyContext.For(environment ?? Linux, ExecutionOptions.Default));

    private static readonly string SumLoop = CallbackPrograms.SumLoop("10");

    [Fact]
    public void A_safe_callback_is_proven_and_strict_mode_accepts_it()
    {
        var analysis = Analyze(SumLoop);
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        // The callback's load and store through ctx (pc 14 and 16) are proven: r2 points at the caller's frame.
        Assert.Equal(AccessOutcome.Proven, analysis.Access(14).Outcome);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(16).Outcome);
        new ProvingVerifier(VerificationMode.Strict, SafetyContext.For(Linux, ExecutionOptions.Default)).Verify(Assembler.Assemble(SumLoop));
    }

    [Fact]
    public void A_callback_writing_past_its_context_is_refuted()
    {
        var analysis = Analyze(SumLoop.Replace("stxdw [r2], r3", "stxdw [r2+8], r3", StringComparison.Ordinal));
        Assert.False(analysis.IsSafe);
        Assert.Contains(analysis.Errors, e => e.Pc == 16);
    }

    [Fact]
    public void A_callback_that_replaces_a_spilled_pointer_leaves_the_callers_access_unproven()
    {
        // The caller spills its input pointer at r10 - 8 and hands that slot to the callback, which overwrites it with
        // a number; the caller then loads through the reloaded slot. After one run of the callback it is no pointer.
        const string source = """
            stxdw [r10-8], r1
            mov r1, 1
            lddw r2, code_addr forge
            mov r3, r10
            add r3, -8
            mov r4, 0
            call 181
            ldxdw r1, [r10-8]
            ldxb r0, [r1]
            exit
            forge:
            mov r3, 4096
            stxdw [r2], r3
            mov r0, 0
            exit
            """;
        var analysis = Analyze(source);
        Assert.NotEqual(AccessOutcome.Proven, analysis.Access(9).Outcome);
        Assert.Throws<EbpfVerificationException>(() => new ProvingVerifier(VerificationMode.Strict, SafetyContext.For(Linux, ExecutionOptions.Default)).Verify(Assembler.Assemble(source)));

        // The engines keep the check: the forged address is a violation, not a crash.
        foreach (var engine in TestEngines.All)
        {
            using var compiled = engine.Compile(ProgramLoader.Load(Assembler.Assemble(source)), Linux);
            var error = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
            Assert.Equal(4096UL, error.Address);
        }
    }

    [Fact]
    public void A_callback_must_return_0_or_1_and_the_function_argument_must_be_a_function()
    {
        var analysis = Analyze(SumLoop.Replace("add r3, r1\nstxdw [r2], r3\nmov r0, 0", "add r3, r1\nstxdw [r2], r3\nmov r0, 2", StringComparison.Ordinal));
        Assert.Contains(analysis.Unproven, f => f.Message.Contains("a callback returns 0 or 1", StringComparison.Ordinal));

        var notAFunction = Analyze(SumLoop.Replace("lddw r2, code_addr add_index", "lddw r2, 5", StringComparison.Ordinal).Replace("add_index:", "mov r0, 0\nexit\nadd_index:", StringComparison.Ordinal));
        Assert.Contains(notAFunction.Errors, e => e.Message.Contains("expects a function of the program", StringComparison.Ordinal));
    }

    [Fact]
    public void For_each_callbacks_get_the_maps_key_and_value_and_the_key_is_read_only()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(new HashMap("h", 4, 8, 16));
        string source = """
            mov r6, 0
            stxdw [r10-8], r6
            lddw r1, map_by_idx 0
            lddw r2, code_addr visit
            mov r3, r10
            add r3, -8
            mov r4, 0
            call 164
            ldxdw r0, [r10-8]
            exit
            visit:
            ldxw r6, [r2]
            ldxdw r7, [r3]
            add r7, r6
            stxdw [r3], r7
            ldxdw r9, [r4]
            add r9, r7
            stxdw [r4], r9
            mov r0, 0
            exit
            """;
        var analysis = Analyze(source, environment);
        Assert.True(analysis.IsProven, Findings.Messages(analysis));
        var writesKey = Analyze(source.Replace("ldxw r6, [r2]", "stw [r2], 1", StringComparison.Ordinal), environment);
        Assert.Contains(writesKey.Errors, e => e.Message.Contains("read-only", StringComparison.Ordinal));
    }

    [Fact]
    public void Nested_and_too_deep_callbacks()
    {
        var analysis = Analyze(CallbackPrograms.Recursive);
        Assert.Contains(analysis.Unproven, f => f.Message.Contains("the callback nests deeper than 8 frames", StringComparison.Ordinal));
    }

    [Fact]
    public void The_clang_compiled_callbacks_example_is_safe_and_its_proofs_hold_on_every_engine()
    {
        using var runtime = ElfLoader.Load(Path.Combine(ConformanceSuite.RepositoryRoot, "examples", "kernel", "xdp_callbacks.o")).CreateRuntime();
        var program = runtime.GetProgram("xdp_callbacks");
        var context = SafetyContext.For(runtime.Environment, ExecutionOptions.Default, KernelContextLayouts.Xdp);
        var analysis = program.Analysis.Safety(context);
        Assert.True(analysis.IsSafe, Findings.Messages(analysis));
    }
}
