using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Cli;
using Ebpf.DependencyInjection;
using Ebpf.Execution;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.Tests.Verification;

/// <summary>
/// The verification every engine applies when it compiles (<see cref="ExecutionOptions.Verification"/>): hybrid by
/// default (definite errors refused), strict on demand (anything unproven refused), structural as the way back (no
/// proof demanded; the run-time checks stop what goes wrong). Through the engines, dependency injection and the tool.
/// </summary>
public class DefaultVerificationTests
{
    /// <summary>r5 is never written.</summary>
    private const string UninitialisedRead = "mov r0, r5\nexit";

    /// <summary>Reads 8 bytes above the frame (r10 + 0): outside the stack on every path.</summary>
    private const string RefutedStackRead = "ldxdw r0, [r10+0]\nexit";

    /// <summary>Reads byte 100 of the input without comparing its length: unknown (hybrid keeps the check, strict refuses).</summary>
    private const string UnprovenRead = "ldxb r0, [r1+100]\nexit";

    private static EbpfProgram Load(string asm) => ProgramLoader.Load(Assembler.Assemble(asm));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void By_default_every_engine_refuses_a_read_of_an_uninitialised_register(string engine)
    {
        var e = Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(Load(UninitialisedRead)));
        Assert.Equal(0, e.Pc);
        Assert.Equal("mov64 r0, r5: unsafe: r5 is read before it is written (uninitialised on some path)", e.Reason);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void By_default_every_engine_refuses_an_access_outside_its_region_on_every_path(string engine)
    {
        var e = Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(Load(RefutedStackRead)));
        Assert.Equal(0, e.Pc);
        Assert.Equal("ldxdw r0, [r10]: unsafe: r10: stack offset 0 (8 bytes) is outside the 512-byte frame", e.Reason);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_default_refuses_with_memory_checks_off_too(string engine)
    {
        var options = new ExecutionOptions { MemoryChecks = false };
        Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(Load(UninitialisedRead), options: options));
        Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(Load(RefutedStackRead), options: options));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_default_keeps_the_run_time_check_of_an_unproven_access(string engine)
    {
        using var compiled = TestEngines.Get(engine).Compile(Load(UnprovenRead));
        var input = new byte[101];
        input[100] = 0x5a;
        Assert.Equal(0x5aUL, compiled.Run(input));
        Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[100]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Strict_refuses_an_unproven_access_and_accepts_a_proven_one(string engine)
    {
        var strict = new ExecutionOptions { Verification = VerificationMode.Strict };
        var e = Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(Load(UnprovenRead), options: strict));
        Assert.Equal(0, e.Pc);
        Assert.Equal("ldxb r0, [r1+100]: not proven: r1: offset 100 (1 byte) may exceed the input length, len in [0, inf)", e.Reason);

        using var compiled = TestEngines.Get(engine).Compile(Load("mov r0, 0\njlt r2, 101, +1\nldxb r0, [r1+100]\nexit"), options: strict);
        var input = new byte[101];
        input[100] = 7;
        Assert.Equal(7UL, compiled.Run(input));
        Assert.Equal(0UL, compiled.Run(new byte[100]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Structural_loads_what_the_default_refuses_and_the_run_time_check_stops_the_bad_access(string engine)
    {
        var structural = new ExecutionOptions { Verification = VerificationMode.Structural };
        using (var compiled = TestEngines.Get(engine).Compile(Load(UninitialisedRead), options: structural))
        {
            Assert.Equal(0UL, compiled.Run());
        }

        using (var compiled = TestEngines.Get(engine).Compile(Load(RefutedStackRead), options: structural))
        {
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
            Assert.Equal(0, e.Pc);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_too_long_for_the_proof_use_is_still_verified(string engine)
    {
        // 5,000 slots (more than the 4,096 the engines use the proof for), the uninitialised read at the end.
        string asm = string.Concat(Enumerable.Repeat("mov r0, 1\n", 4_999)) + "mov r0, r5\nexit";
        var program = Load(asm);
        Assert.True(program.Length > CheckPlan.MaxAnalyzedSlots);
        var e = Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(program));
        Assert.Equal(4_999, e.Pc);
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Verification = VerificationMode.Structural });
        Assert.Equal(0UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_longer_than_the_structural_limit_uses_its_proof_when_verified(string engine)
    {
        // 5,000 slots: a stack store and load (proven: the frame's own bytes) and an input read behind a length test
        // (proven: 4 <= r2), then the read of input byte 100 that nothing bounds (unknown: it keeps its check).
        string asm = "stxdw [r10-8], r1\nldxdw r3, [r10-8]\nmov r0, 0\njlt r2, 4, +1\nldxw r0, [r3+0]\n"
            + string.Concat(Enumerable.Repeat("add r0, 1\n", 4_990)) + "ldxb r4, [r1+100]\nexit";
        var program = Load(asm);
        Assert.True(program.Length > CheckPlan.MaxAnalyzedSlots);
        var input = new byte[] { 1, 0, 0, 0 };

        using (var hybrid = TestEngines.Get(engine).Compile(program))
        {
            Assert.Equal(3, ((IMemoryCheckStatistics)hybrid).ProvenAccesses);
            // The unproven read still has its check: byte 100 of a 4-byte input is outside it.
            var e = Assert.Throws<EbpfMemoryAccessException>(() => hybrid.Run(input));
            Assert.Equal(program.Length - 2, e.Pc);
            Assert.Equal(4_991UL, hybrid.Run(LongInput()));
        }

        using var structural = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Verification = VerificationMode.Structural });
        Assert.Equal(0, ((IMemoryCheckStatistics)structural).ProvenAccesses);
        Assert.Equal(4_991UL, structural.Run(LongInput()));

        // 101 bytes, the first word 1: every read of the program is inside.
        static byte[] LongInput()
        {
            var bytes = new byte[101];
            bytes[0] = 1;
            return bytes;
        }
    }

    [Fact]
    public void An_undefined_mode_is_refused_by_Validate()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionOptions { Verification = (VerificationMode)7 }.Validate());
        Assert.Equal("Verification", e.ParamName);
        Assert.Equal(VerificationMode.Hybrid, ExecutionOptions.Default.Verification);
    }

    [Fact]
    public void A_structural_proving_verifier_runs_only_its_policy()
    {
        var verifier = new ProvingVerifier(VerificationMode.Structural, new SafetyContext());
        Assert.Equal(2, EbpfProgram.Create(Assembler.Assemble(UninitialisedRead), verifier).Length);
        Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(Assembler.Assemble(UninitialisedRead), new ProvingVerifier(VerificationMode.Hybrid, new SafetyContext())));
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddEbpf().AddInterpreter();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void Through_dependency_injection_the_default_refuses_and_configuration_selects_the_mode()
    {
        using (var provider = Services([]))
        {
            var options = provider.GetRequiredService<ExecutionOptions>();
            Assert.Equal(VerificationMode.Hybrid, options.Verification);
            var engine = provider.GetRequiredService<IExecutionEngine>();
            Assert.Throws<EbpfVerificationException>(() => engine.Compile(Load(UninitialisedRead), options: options));
            using var compiled = engine.Compile(Load(UnprovenRead), options: options);
        }

        using (var provider = Services(new() { ["Ebpf:Verification"] = "structural" }))
        {
            var options = provider.GetRequiredService<ExecutionOptions>();
            Assert.Equal(VerificationMode.Structural, options.Verification);
            using var compiled = provider.GetRequiredService<IExecutionEngine>().Compile(Load(UninitialisedRead), options: options);
            Assert.Equal(0UL, compiled.Run());
        }

        using (var provider = Services(new() { ["Ebpf:Verification"] = " Strict " }))
        {
            var options = provider.GetRequiredService<ExecutionOptions>();
            Assert.Equal(VerificationMode.Strict, options.Verification);
            Assert.Throws<EbpfVerificationException>(() => provider.GetRequiredService<IExecutionEngine>().Compile(Load(UnprovenRead), options: options));
        }
    }

    [Theory]
    [InlineData("1")]
    [InlineData("proven")]
    [InlineData("")]
    public void A_verification_setting_that_names_no_mode_is_a_validation_error(string value)
    {
        using var provider = Services(new() { ["Ebpf:Verification"] = value });
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal([$"Ebpf:Verification must be Hybrid, Strict, Structural (got '{value}')"], e.Failures);
    }

    [Fact]
    public void An_undefined_mode_set_in_code_is_a_validation_error()
    {
        var services = new ServiceCollection();
        services.AddEbpf(o => o.Verification = (VerificationMode)9).AddInterpreter();
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal(["Ebpf:Verification must be Hybrid, Strict, Structural (got 9)"], e.Failures);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_tool_refuses_by_default_in_one_line_and_runs_with_structural(string engine)
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("uninit.s", UninitialisedRead + "\n");
        var refused = Tool.Run("run", program, "--engine", engine);
        Assert.Equal((1, ""), (refused.ExitCode, refused.Out));
        Assert.Equal(
            "ebpf: error: verification failed at pc 0 (mov64 r0, r5): mov64 r0, r5: unsafe: r5 is read before it is written (uninitialised on some path)\n",
            refused.Err.ReplaceLineEndings("\n"));

        var run = Tool.Run("run", program, "--engine", engine, "--structural");
        Assert.Equal((0, "r0 = 0x0 (0)\n", ""), (run.ExitCode, run.Out.ReplaceLineEndings("\n"), run.Err));
    }

    [Fact]
    public void The_tool_refuses_an_unproven_access_with_strict_and_not_both_modes_at_once()
    {
        using var folder = new Tool.TempFolder();
        string program = folder.Write("unproven.s", UnprovenRead + "\n");
        var memory = Convert.ToHexString(new byte[101]);
        Assert.Equal(["r0 = 0x0 (0)"], Tool.Run("run", program, "--mem-hex", memory).OutLines);

        var strict = Tool.Run("run", program, "--mem-hex", memory, "--strict");
        Assert.Equal(1, strict.ExitCode);
        Assert.Single(strict.Err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Assert.Contains("not proven: r1: offset 100 (1 byte) may exceed the input length", strict.Err);

        var both = Tool.Run("run", program, "--strict", "--structural");
        Assert.Equal(EbpfTool.UsageError, both.ExitCode);
        Assert.Contains("--strict and --structural cannot be combined", both.Err);

        var bench = Tool.Run("bench", program, "--mem-hex", memory, "--strict", "--iterations", "10");
        Assert.Equal(1, bench.ExitCode);
        Assert.Contains("not proven", bench.Err);
    }
}
