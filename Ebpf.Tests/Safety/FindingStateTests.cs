using Ebpf.Analysis;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Findings of the analysis without a log format their instruction and state only when read (from a re-run that
/// keeps snapshots); what they say must be what the analysis with the log says.
/// </summary>
public class FindingStateTests
{
    private const string Program = """
        stdw [r10-8], 7
        mov r3, 5
        ldxb r0, [r1+100]
        jeq r0, 0, +2
        ldxh r4, [r1+200]
        stxdw [r10-16], r4
        ldxw r5, [r1+300]
        lddw r6, 0x1122334455667788
        ldxb r0, [r1+400]
        mov r0, r7
        exit
        """;

    [Fact]
    public void Findings_without_the_log_say_what_the_logged_analysis_says()
    {
        var program = Analyze.Program(Program);
        var context = Analyze.LinuxContext();
        var quiet = program.Analysis.Safety(context);
        var logged = program.Analysis.SafetyWithLog(context);
        Assert.Equal(4, quiet.Unproven.Length);
        Assert.Single(quiet.Errors);
        Assert.Equal(logged.Unproven.AsEnumerable(), quiet.Unproven.AsEnumerable()); // the records compare pc, instruction, message and state
        Assert.Equal(logged.Errors.AsEnumerable(), quiet.Errors.AsEnumerable());
        var last = quiet.Unproven[^1];
        Assert.Equal(9, last.Pc); // lddw takes two slots
        Assert.Equal("ldxb r0, [r1+400]", last.Instruction);
        Assert.Equal("r0=scalar(u[0, 255]) r1=input(off=0) r2=scalar(=len+0, u[0, 2147483647]) r3=5 r5=scalar(u[0, 4294967295]) r6=0x1122334455667788 r10=fp0+0 fp-8=7", last.State); // r4 and fp-16 are written on one path only
        Assert.Contains($"{last.Pc}: {last.Instruction}\n    ; {last.State}\n", logged.Log);
        Assert.Equal("r7 is read before it is written (uninitialised on some path)", quiet.Errors[0].Message);
        Assert.Equal(10, quiet.Errors[0].Pc);
    }

    [Fact]
    public void Findings_compare_by_what_they_say()
    {
        var a = new SafetyFinding(3, "exit", "why", "r0=1");
        Assert.Equal(a, new SafetyFinding(3, "exit", "why", "r0=1"));
        Assert.Equal(a.GetHashCode(), new SafetyFinding(3, "exit", "why", "r0=1").GetHashCode());
        Assert.NotEqual(a, a with { State = "r0=2" });
        Assert.Equal("3: exit: why", a.ToString());
        Assert.Equal("3: exit\n    ; r0=1\n    error: why", a.ToLog("error"));
    }
}
