using Ebpf.Isa;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>Dispose while a thread is inside the machine code keeps the mapping until that run has left it.</summary>
[Collection(X64SerialCollection.Name)]
public class DeferredUnmapTests
{
    [Fact]
    public void The_code_stays_mapped_read_execute_until_the_last_run_ends()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "wait", (_, _, _, _, _) =>
        {
            entered.Set();
            return release.Wait(TimeSpan.FromSeconds(20)) ? 40UL : 0UL;
        });
        long before = X64Engine.LiveCodeMappings;
        var compiled = (X64CompiledProgram)new X64Engine().Compile(
            Program(I(OpCodes.Call, imm: 1), I(OpCodes.Add64Imm, 0, imm: 2), I(OpCodes.Exit)), environment);
        nint code = compiled.CodeAddress;
        ulong result = 0;
        var runner = new Thread(() => result = compiled.Run());
        runner.Start();
        Assert.True(entered.Wait(TimeSpan.FromSeconds(20)));

        compiled.Dispose();
        Assert.Equal(before + 1, X64Engine.LiveCodeMappings);
        Assert.Equal("r-xp", X64Platform.PermissionsAt(code));

        release.Set();
        Assert.True(runner.Join(TimeSpan.FromSeconds(20)));
        Assert.Equal(42UL, result);
        Assert.Equal(before, X64Engine.LiveCodeMappings);
    }
}
