using Ebpf.DependencyInjection;
using Ebpf.Interpreter;
using Ebpf.Isa;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.Tests.DependencyInjection;

public class ServiceCollectionTests
{
    private static ServiceProvider Build(Action<EbpfOptions>? configure = null, bool x64Available = false, IConfiguration? configuration = null)
    {
        var services = new ServiceCollection();
        if (configuration is not null)
        {
            services.AddSingleton(configuration);
        }

        services.AddEbpf(configure)
            .AddInterpreter()
            .AddEngine("il", _ => new FakeEngine("il", EngineCapabilities.CompilesToIl))
            .AddEngine("x64", _ => new FakeEngine("x64", EngineCapabilities.NativeCode, x64Available ? null : "not an x86-64 machine"));
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void Each_engine_resolves_by_its_key()
    {
        using var provider = Build();
        Assert.IsType<InterpreterEngine>(provider.GetRequiredKeyedService<IExecutionEngine>("interpreter"));
        Assert.Equal("il", provider.GetRequiredKeyedService<IExecutionEngine>("il").Name);
        Assert.Equal("x64", provider.GetRequiredKeyedService<IExecutionEngine>("x64").Name);
        Assert.Null(provider.GetKeyedService<IExecutionEngine>("jit"));
        Assert.Same(provider.GetRequiredKeyedService<IExecutionEngine>("il"), provider.GetRequiredKeyedService<IExecutionEngine>("il"));
    }

    [Fact]
    public void The_enumerable_holds_every_engine_once_in_registration_order()
    {
        using var provider = Build();
        Assert.Equal(["interpreter", "il", "x64"], provider.GetServices<IExecutionEngine>().Select(e => e.Name));
        Assert.Equal(["interpreter", "il", "x64"], provider.GetRequiredService<IEngineSelector>().Engines.Select(e => e.Name));
    }

    [Fact]
    public void The_unkeyed_engine_is_the_interpreter_by_default()
    {
        using var provider = Build();
        Assert.IsType<InterpreterEngine>(provider.GetRequiredService<IExecutionEngine>());
    }

    [Fact]
    public void AddEbpf_registers_no_engine_and_AddInterpreter_registers_the_interpreter()
    {
        var services = new ServiceCollection();
        var builder = services.AddEbpf();
        Assert.Empty(builder.EngineNames);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IExecutionEngine) && d.IsKeyedService);

        builder.AddInterpreter();
        Assert.Equal(["interpreter"], builder.EngineNames);
        using var provider = services.BuildServiceProvider();
        Assert.IsType<InterpreterEngine>(provider.GetRequiredKeyedService<IExecutionEngine>("interpreter"));
        Assert.IsType<InterpreterEngine>(provider.GetRequiredService<IExecutionEngine>());
    }

    [Fact]
    public void Without_an_engine_start_up_validation_says_how_to_add_one()
    {
        var services = new ServiceCollection();
        services.AddEbpf();
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal(
            "no engine is registered: add one to AddEbpf() with AddInterpreter(), AddIl(), AddX64() or AddEngine(name, factory)",
            Assert.Single(e.Failures));
    }

    [Fact]
    public void Without_the_interpreter_the_default_is_the_safest_registered_engine()
    {
        var services = new ServiceCollection();
        services.AddEbpf()
            .AddEngine("x64", _ => new FakeEngine("x64", EngineCapabilities.NativeCode))
            .AddEngine("il", _ => new FakeEngine("il", EngineCapabilities.CompilesToIl));
        using var provider = services.BuildServiceProvider();
        Assert.Equal("il", provider.GetRequiredService<IExecutionEngine>().Name);
    }

    [Fact]
    public void The_unkeyed_engine_is_the_configured_one()
    {
        using var provider = Build(o => o.DefaultEngine = "IL");
        Assert.Equal("il", provider.GetRequiredService<IExecutionEngine>().Name);
    }

    [Fact]
    public void The_fastest_policy_falls_back_when_an_engine_reports_itself_unavailable()
    {
        using (var provider = Build(o => o.DefaultEngine = "fastest", x64Available: false))
        {
            Assert.Equal("il", provider.GetRequiredService<IExecutionEngine>().Name);
            Assert.Equal("il", provider.GetRequiredService<IEngineSelector>().Select(EnginePolicy.Fastest).Name);
            Assert.Equal("interpreter", provider.GetRequiredService<IEngineSelector>().Select(EnginePolicy.Safest).Name);
        }

        using (var provider = Build(o => o.DefaultEngine = "fastest", x64Available: true))
        {
            Assert.Equal("x64", provider.GetRequiredService<IExecutionEngine>().Name);
        }
    }

    [Fact]
    public void The_default_engine_runs_programs_with_the_configured_options()
    {
        using var provider = Build(o => o.InstructionBudget = 3);
        var engine = provider.GetRequiredService<IExecutionEngine>();
        var options = provider.GetRequiredService<ExecutionOptions>();
        Assert.Equal(3, options.InstructionBudget);

        var program = EbpfProgram.Create(
            [new Instruction(OpCodes.Mov64Imm, 0, 0, 0, 42), new Instruction(OpCodes.Exit, 0, 0, 0, 0)],
            Engines.StructuralOnlyVerifier.Instance);
        using var compiled = engine.Compile(program, options: options);
        Assert.Equal(42UL, compiled.Run());

        var loop = EbpfProgram.Create(
            [new Instruction(OpCodes.Mov64Imm, 0, 0, 0, 0), new Instruction(OpCodes.Ja, 0, 0, -1, 0), new Instruction(OpCodes.Exit, 0, 0, 0, 0)],
            Engines.StructuralOnlyVerifier.Instance);
        using var looping = engine.Compile(loop, options: options);
        Assert.Throws<EbpfBudgetExceededException>(() => looping.Run());
    }

    [Fact]
    public void Registration_is_idempotent()
    {
        var services = new ServiceCollection();
        services.AddEbpf().AddInterpreter().AddInterpreter();
        services.AddEbpf().AddEngine("il", _ => new FakeEngine("il", EngineCapabilities.CompilesToIl));
        var builder = services.AddEbpf().AddEngine("il", _ => new FakeEngine("il", EngineCapabilities.Interpreted));
        Assert.Equal(["interpreter", "il"], builder.EngineNames);
        Assert.Single(services, d => d.ServiceType == typeof(IEngineSelector));
        Assert.Single(services, d => d.ServiceType == typeof(IExecutionEngine) && !d.IsKeyedService);
        Assert.Equal(2, services.Count(d => d.ServiceType == typeof(IExecutionEngine) && d.IsKeyedService));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<EbpfOptions>));

        using var provider = services.BuildServiceProvider();
        Assert.Equal(["interpreter", "il"], provider.GetServices<IExecutionEngine>().Select(e => e.Name));
        Assert.Equal(EngineCapabilities.CompilesToIl, provider.GetRequiredKeyedService<IExecutionEngine>("il").Capabilities);
    }

    [Fact]
    public void Options_bind_from_the_Ebpf_configuration_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ebpf:DefaultEngine"] = "il",
            ["Ebpf:InstructionBudget"] = "1000000",
            ["Ebpf:MemoryChecks"] = "false",
            ["Ebpf:StackSize"] = "1024",
            ["Ebpf:MaxCallDepth"] = "4",
            ["Other:StackSize"] = "8",
        }).Build();
        using var provider = Build(configuration: configuration);
        Assert.Equal("il", provider.GetRequiredService<IExecutionEngine>().Name);
        Assert.Equal(
            new ExecutionOptions { InstructionBudget = 1_000_000, MemoryChecks = false, StackSize = 1024, MaxCallDepth = 4 },
            provider.GetRequiredService<ExecutionOptions>());
    }

    [Fact]
    public void Configuration_keys_are_case_insensitive_and_the_timeout_binds_as_a_time_span()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ebpf:defaultengine"] = "safest",
            ["EBPF:TIMEOUT"] = "00:00:02.5",
            ["Ebpf:helperArgumentChecks"] = "False",
        }).Build();
        using var provider = Build(configuration: configuration);
        Assert.Equal("interpreter", provider.GetRequiredService<IExecutionEngine>().Name);
        Assert.Equal(
            new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(2500), HelperArgumentChecks = false },
            provider.GetRequiredService<ExecutionOptions>());
    }

    [Theory]
    [InlineData("00:00:05", 5000.0)]
    [InlineData("-00:00:00.001", -1.0)]
    [InlineData("", null)]
    public void The_run_time_limit_binds_from_configuration_and_empty_turns_it_off(string value, double? milliseconds)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ebpf:RunTimeLimit"] = value }).Build();
        using var provider = Build(configuration: configuration);
        var expected = milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
        Assert.Equal(new ExecutionOptions { RunTimeLimit = expected }, provider.GetRequiredService<ExecutionOptions>());
    }

    [Fact]
    public void Without_a_setting_the_run_time_limit_is_the_default_of_10_seconds()
    {
        using var provider = Build();
        Assert.Equal(TimeSpan.FromSeconds(10), provider.GetRequiredService<ExecutionOptions>().RunTimeLimit);
    }

    [Fact]
    public void Values_that_do_not_parse_and_unknown_keys_are_validation_errors_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ebpf:StackSize"] = "7",
            ["Ebpf:MaxCallDepth"] = "four",
            ["Ebpf:InstructionBudget"] = "1e6",
            ["Ebpf:MemoryChecks"] = "yes",
            ["Ebpf:Timeout"] = "-00:00:01",
            ["Ebpf:RunTimeLimit"] = "00:00:00",
            ["Ebpf:StackSzie"] = "512",
        }).Build();
        using var provider = Build(configuration: configuration);
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal(
            [
                "Ebpf:InstructionBudget must be a whole number (got '1e6')",
                "Ebpf:MaxCallDepth must be a whole number (got 'four')",
                "Ebpf:MemoryChecks must be true or false (got 'yes')",
                "Ebpf:StackSzie is not a setting of the Ebpf section (known: DefaultEngine, InstructionBudget, Timeout, RunTimeLimit, MemoryChecks, HelperArgumentChecks, Verification, StackSize, MaxCallDepth)",
                "Ebpf:StackSize must be a multiple of 8 from 8 to 65536 (got 7)",
                "Ebpf:Timeout must be positive and at most 49.17:02:47.2940000, or absent for no limit (got -00:00:01)",
                "Ebpf:RunTimeLimit must be positive and at most 49.17:02:47.2940000, or empty or -00:00:00.0010000 for no limit (got 00:00:00)",
            ],
            e.Failures);
    }

    [Fact]
    public void Code_settings_apply_after_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ebpf:StackSize"] = "1024",
            ["Ebpf:MaxCallDepth"] = "4",
        }).Build();
        using var provider = Build(o => o.MaxCallDepth = 2, configuration: configuration);
        var options = provider.GetRequiredService<IOptions<EbpfOptions>>().Value;
        Assert.Equal((1024, 2), (options.StackSize, options.MaxCallDepth));
    }

    [Fact]
    public void Without_configuration_the_defaults_are_the_safe_ones()
    {
        using var provider = Build();
        Assert.Equal(ExecutionOptions.Default, provider.GetRequiredService<ExecutionOptions>());
    }

    [Fact]
    public void Invalid_ranges_are_reported_together_with_their_configuration_keys()
    {
        using var provider = Build(o =>
        {
            o.StackSize = 100;
            o.MaxCallDepth = 0;
            o.InstructionBudget = -5;
        });
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal(
            [
                "Ebpf:StackSize must be a multiple of 8 from 8 to 65536 (got 100)",
                "Ebpf:MaxCallDepth must be from 1 to 64 (got 0)",
                "Ebpf:InstructionBudget must be positive, or absent for no limit (got -5)",
            ],
            e.Failures);
    }

    [Fact]
    public void An_unknown_default_engine_is_a_validation_error_naming_the_known_ones()
    {
        using var provider = Build(o => o.DefaultEngine = "jit");
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IExecutionEngine>());
        Assert.Equal(
            "Ebpf:DefaultEngine is 'jit', which is not a registered engine or a policy (known: interpreter, il, x64, safest, fastest, auto)",
            Assert.Single(e.Failures));
    }

    [Fact]
    public void An_unavailable_default_engine_is_a_validation_error_with_the_reason()
    {
        using var provider = Build(o => o.DefaultEngine = "x64");
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EbpfOptions>>().Value);
        Assert.Equal(
            "Ebpf:DefaultEngine is 'x64', which is not available here: not an x86-64 machine (use 'fastest' to fall back automatically)",
            Assert.Single(e.Failures));
    }

    [Fact]
    public void Validation_runs_at_start()
    {
        using (var provider = Build(o => o.StackSize = 12))
        {
            var validator = provider.GetRequiredService<IStartupValidator>();
            var e = Assert.Throws<OptionsValidationException>(validator.Validate);
            Assert.Contains("Ebpf:StackSize", e.Message);
        }

        using (var provider = Build())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
        }
    }

    [Fact]
    public void Policy_names_cannot_name_an_engine()
    {
        var builder = new ServiceCollection().AddEbpf();
        var e = Assert.Throws<ArgumentException>(() => builder.AddEngine("fastest", _ => new InterpreterEngine()));
        Assert.Contains("policy name", e.Message);
    }

    [Fact]
    public void An_engine_registered_under_another_name_is_refused_when_resolved()
    {
        var services = new ServiceCollection();
        services.AddEbpf().AddEngine("il", _ => new InterpreterEngine());
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredKeyedService<IExecutionEngine>("il"));
        Assert.Equal("the engine registered as 'il' calls itself 'interpreter'", e.Message);
    }
}
