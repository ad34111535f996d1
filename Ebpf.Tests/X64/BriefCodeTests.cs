using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// Straight-line x64 code without calls is entered without the GC-mode transition: which programs qualify, and that such
/// runs stay correct while other threads force garbage collections (the runtime must suspend a thread that is inside
/// the generated code).
/// </summary>
public class BriefCodeTests
{
    [Theory]
    [InlineData("mov r0, 1\nexit", true)]
    [InlineData("ldxdw r0, [r1]\nldxdw r2, [r1+8]\nadd r0, r2\nexit", true)]
    [InlineData("mov r0, 0\njeq r1, 0, +1\nmov r0, 1\nexit", true)]
    [InlineData("mov r0, 3\nsub r0, 1\njne r0, 0, -2\nexit", false)]
    [InlineData("mov r1, 1\ncall 1\nexit", false)]
    [InlineData("mov r1, 1\ncallx r1\nexit", false)]
    [InlineData("call local f\nexit\nf:\nmov r0, 0\nexit", false)]
    public void Only_straight_line_code_without_calls_is_brief(string source, bool brief)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        Assert.Equal(brief, BriefCode.IsBrief(program));
    }

    [Fact]
    public void A_program_longer_than_the_limit_is_not_brief()
    {
        var source = string.Concat(Enumerable.Repeat("add r0, 1\n", BriefCode.MaxSlots)) + "exit";
        Assert.False(BriefCode.IsBrief(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance)));
    }

    [Fact]
    public async Task Brief_runs_stay_correct_while_other_threads_collect_garbage()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        using var compiled = new X64Engine().Compile(
            EbpfProgram.Create(Assembler.Assemble("ldxdw r0, [r1]\nldxdw r2, [r1+8]\nadd r0, r2\nexit"), StructuralOnlyVerifier.Instance));
        var input = new byte[16];
        input[0] = 40;
        input[8] = 2;
        using var stop = new CancellationTokenSource();
        var collector = GarbageCollections.ForceUntil(stop.Token);

        var runners = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var own = (byte[])input.Clone();
            for (int i = 0; i < 200_000; i++)
            {
                Assert.Equal(42UL, compiled.Run(own));
            }
        })).ToArray();
        await Task.WhenAll(runners);
        await stop.CancelAsync();
        await collector;
    }
}
