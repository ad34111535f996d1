using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

public class AvailabilityTests
{
    [Fact]
    public void Name_and_capabilities()
    {
        var engine = new X64Engine();
        Assert.Equal("x64", engine.Name);
        Assert.Equal(EngineCapabilities.NativeCode | EngineCapabilities.CanDisableMemoryChecks, engine.Capabilities);
        Assert.False(engine.Capabilities.HasFlag(EngineCapabilities.RequiresDynamicCode));
    }

    [Fact]
    public void Available_exactly_on_x86_64_Linux()
    {
        var engine = new X64Engine();
        Assert.Equal(X64Platform.Supported, engine.IsAvailable);
        if (X64Platform.Supported)
        {
            Assert.Null(engine.UnavailableReason);
            Assert.Contains(TestEngines.All, e => e.Name == "x64");
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(engine.UnavailableReason));
            var e = Assert.Throws<EbpfEngineUnavailableException>(() => engine.Compile(Program(I(OpCodes.Exit))));
            Assert.Equal("x64", e.Engine);
            Assert.Contains(TestEngines.Unavailable, u => u.Name == "x64");
        }
    }

    [Fact]
    public void TryCompile_reports_the_outcome()
    {
        IExecutionEngine engine = new X64Engine();
        bool ok = engine.TryCompile(Program(I(OpCodes.Mov64Imm, 0, imm: 3), I(OpCodes.Exit)), null, null, out var compiled, out var reason);
        Assert.Equal(X64Platform.Supported, ok);
        if (ok)
        {
            using (compiled)
            {
                Assert.Equal(3UL, compiled!.Run());
                Assert.Equal("x64", compiled.EngineName);
            }
        }
        else
        {
            Assert.NotNull(reason);
        }
    }
}
