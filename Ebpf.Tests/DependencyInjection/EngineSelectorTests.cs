using Ebpf.Interpreter;

namespace Ebpf.Tests.DependencyInjection;

public class EngineSelectorTests
{
    private static readonly FakeEngine Il = new("il", EngineCapabilities.CompilesToIl | EngineCapabilities.RequiresDynamicCode);
    private static readonly FakeEngine X64 = new("x64", EngineCapabilities.NativeCode);
    private static readonly FakeEngine X64Unavailable = new("x64", EngineCapabilities.NativeCode, "needs an x86-64 CPU");
    private static readonly FakeEngine IlUnavailable = new("il", EngineCapabilities.CompilesToIl, "dynamic code is not supported");

    [Fact]
    public void Fastest_prefers_native_code_then_il_then_the_interpreter()
    {
        var selector = new EngineSelector([new InterpreterEngine(), Il, X64]);
        Assert.Same(X64, selector.Select(EnginePolicy.Fastest));
        Assert.Same(X64, selector.Select("fastest"));
        Assert.Same(X64, selector.Select("AUTO"));
    }

    [Fact]
    public void Fastest_falls_back_past_unavailable_engines()
    {
        var interpreter = new InterpreterEngine();
        Assert.Same(Il, new EngineSelector([interpreter, Il, X64Unavailable]).Select(EnginePolicy.Fastest));
        Assert.Same(interpreter, new EngineSelector([interpreter, IlUnavailable, X64Unavailable]).Select(EnginePolicy.Fastest));
    }

    [Fact]
    public void Safest_is_the_interpreter_whatever_the_order()
    {
        var interpreter = new InterpreterEngine();
        var selector = new EngineSelector([X64, Il, interpreter]);
        Assert.Same(interpreter, selector.Select(EnginePolicy.Safest));
        Assert.Same(interpreter, selector.Select("safest"));
    }

    [Fact]
    public void Safest_without_an_interpreter_takes_il_before_native_code()
    {
        Assert.Same(Il, new EngineSelector([X64, Il]).Select(EnginePolicy.Safest));
    }

    [Fact]
    public void The_default_is_a_name_or_a_policy()
    {
        var interpreter = new InterpreterEngine();
        Assert.Same(interpreter, new EngineSelector([X64, interpreter]).Default);
        Assert.Same(X64, new EngineSelector([interpreter, X64], "fastest").Default);
        Assert.Same(Il, new EngineSelector([interpreter, Il, X64], "IL").Default);
    }

    [Fact]
    public void Names_are_case_insensitive_and_unknown_names_list_the_known_ones()
    {
        var selector = new EngineSelector([new InterpreterEngine(), Il]);
        Assert.True(selector.TryGet("Interpreter", out var found));
        Assert.Equal("interpreter", found.Name);
        Assert.False(selector.TryGet("jit", out _));
        var e = Assert.Throws<EbpfEngineUnavailableException>(() => selector.Select("jit"));
        Assert.Equal("jit", e.Engine);
        Assert.Contains("no engine of that name", e.Message);
        Assert.Contains("interpreter, il, safest, fastest, auto", e.Message);
    }

    [Fact]
    public void Selecting_an_unavailable_engine_by_name_gives_its_reason()
    {
        var selector = new EngineSelector([new InterpreterEngine(), X64Unavailable]);
        Assert.True(selector.TryGet("x64", out _));
        var e = Assert.Throws<EbpfEngineUnavailableException>(() => selector.Select("x64"));
        Assert.Equal("needs an x86-64 CPU", e.Reason);
    }

    [Fact]
    public void A_policy_with_nothing_available_names_every_reason()
    {
        var selector = new EngineSelector([IlUnavailable, X64Unavailable]);
        var e = Assert.Throws<EbpfEngineUnavailableException>(() => selector.Select(EnginePolicy.Fastest));
        Assert.Contains("x64: needs an x86-64 CPU", e.Message);
        Assert.Contains("il: dynamic code is not supported", e.Message);
        Assert.Throws<EbpfEngineUnavailableException>(() => new EngineSelector([]).Select(EnginePolicy.Safest));
    }

    [Fact]
    public void Two_engines_with_one_name_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new EngineSelector([new InterpreterEngine(), new FakeEngine("Interpreter", EngineCapabilities.Interpreted)]));
        Assert.Contains("two engines are named", e.Message);
    }
}
