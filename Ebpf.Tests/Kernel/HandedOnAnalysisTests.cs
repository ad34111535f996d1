using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// A kernel program is analysed once per load: the analysis of the program as written (which finds the context loads
/// to rewrite) is handed on, with the rewritten accesses translated, as the analysis of the rewritten program under the
/// context its runs get, and the engine's compilation takes it instead of analysing again. What is handed on must be
/// what the engine would compute: every program of examples/kernel is compared with a fresh analysis.
/// </summary>
public sealed class HandedOnAnalysisTests
{
    /// <summary>Every program of every object in examples/kernel whose section names a kernel type, as (object, program).</summary>
    public static TheoryData<string, string> KernelPrograms()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in Directory.GetFiles(KernelOracleCase.Directory, "*.o").Order(StringComparer.Ordinal))
        {
            var elf = ElfLoader.Load(path);
            foreach (var program in elf.Programs)
            {
                if (KernelProgramTypes.FromSection(program.Section) is not null)
                {
                    data.Add(Path.GetFileNameWithoutExtension(path), program.Name);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KernelPrograms))]
    public void The_analysis_handed_on_is_the_one_the_engine_would_compute(string file, string name)
    {
        using var runtime = KernelOracleCase.Runtime(file);
        var linked = runtime.GetProgram(name);
        var type = KernelProgramTypes.FromSection(linked.Section)!.Value;
        _ = KernelProgram.AnalysisContext(runtime.Environment, type);
        var options = ExecutionOptions.Default with { EntryContext = KernelContextLayouts.NativeFor(type) };
        EbpfProgram rewritten;
        try
        {
            rewritten = ContextRewriter.Rewrite(linked, type, runtime.Environment, options, Verifier.Default).Program;
        }
        catch (EbpfTestRunException)
        {
            // a program the load refuses (egress_ifindex outside a devmap program) is never compiled
            Assert.Equal("xdp_devmap", file);
            return;
        }

        // the context the engine's compilation makes (CheckPlan), and what it gets: the analysis handed on (no analysis runs)
        var engineContext = SafetyContext.For(runtime.Environment, options, options.EntryContext);
        int before = SafetyAnalyzer.RunsOnThisThread;
        var handedOn = rewritten.Analysis.Safety(engineContext);
        Assert.Equal(before, SafetyAnalyzer.RunsOnThisThread);

        var fresh = SafetyAnalyzer.Analyze(rewritten, engineContext, withLog: false);
        for (int pc = 0; pc < rewritten.Length; pc++)
        {
            Assert.Equal(fresh.Access(pc), handedOn.Access(pc));
            Assert.Equal(fresh.ContextFieldAt(pc), handedOn.ContextFieldAt(pc));
        }

        Assert.Equal(Findings(fresh.Errors), Findings(handedOn.Errors));
        Assert.Equal(Findings(fresh.Unproven), Findings(handedOn.Unproven));
        Assert.Equal(Findings(fresh.LoadRefusals), Findings(handedOn.LoadRefusals));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Loading_a_kernel_program_analyses_it_once(string engine)
    {
        // xdp_parse (its data/data_end loads rewritten) and tc_fields, which also writes tc_classid (the store narrowed)
        foreach (var (file, name) in new[] { ("xdp_parse", "xdp_parse"), ("ctx_fields", "tc_fields") })
        {
            using var runtime = KernelOracleCase.Runtime(file);
            int before = SafetyAnalyzer.RunsOnThisThread;
            using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), name);
            Assert.Equal(1, SafetyAnalyzer.RunsOnThisThread - before);
            Assert.True(program.RewrittenLoads > 0);
        }
    }

    [Fact]
    public void A_handed_on_analysis_is_taken_once_and_only_in_the_same_world()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var program = EbpfProgram.Create(Assembler.Assemble("ldxw r0, [r1+12]\nexit"), Verifier.Default, "ingress");
        var layout = KernelContextLayouts.Xdp;
        var given = SafetyContext.For(environment, null, layout);
        var other = EbpfProgram.Create(Assembler.Assemble("mov r0, 0\nexit"), Verifier.Default).Analysis.Safety(given);

        // another stack size, another layout, another helper set: not the same world, analysed afresh
        program.Analysis.HandOn(given, other);
        Assert.NotSame(other, program.Analysis.Safety(SafetyContext.For(environment, ExecutionOptions.Default with { StackSize = 256 }, layout)));
        Assert.NotSame(other, program.Analysis.Safety(SafetyContext.For(environment, null, KernelContextLayouts.NativeFor(KernelProgramType.Xdp))));
        Assert.NotSame(other, program.Analysis.Safety(SafetyContext.For(new ProgramEnvironment(), null, layout)));

        // the same world (a new snapshot of the same environment): taken, once
        Assert.Same(other, program.Analysis.Safety(SafetyContext.For(environment, null, layout)));
        Assert.NotSame(other, program.Analysis.Safety(SafetyContext.For(environment, null, layout)));
    }

    private static (int, string, string, string)[] Findings(System.Collections.Immutable.ImmutableArray<SafetyFinding> findings) =>
        [.. findings.Select(f => (f.Pc, f.Instruction, f.Message, f.State))];
}
