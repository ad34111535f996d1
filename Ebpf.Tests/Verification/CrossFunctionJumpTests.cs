using Ebpf.Cli;
using Ebpf.Cli.Plugin;
using Ebpf.Isa;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Verification;

/// <summary>
/// Issue 17: a jump into another function from unreachable code. The structural analysis checks every slot, reachable or
/// not, so no engine ever sees such a program, and every boundary answers with one line instead of crashing.
/// </summary>
public class CrossFunctionJumpTests
{
    /// <summary>
    /// The 2,106-slot program of the issue: <c>0: ja +1</c>; <c>1: ja +2102</c> (unreachable, into local function f at
    /// 2104); <c>2: call local +2101</c>; 2,100 times <c>mov r0, 0</c>; <c>2103: exit</c>; <c>2104: mov r0, 1</c>;
    /// <c>2105: exit</c>.
    /// </summary>
    public static byte[] IssueProgram()
    {
        var slots = new List<Instruction>
        {
            new(OpCodes.Ja, 0, 0, 1, 0),
            new(OpCodes.Ja, 0, 0, 2102, 0),
            new(OpCodes.Call, 0, 1, 0, 2101),
        };
        slots.AddRange(Enumerable.Repeat(new Instruction(OpCodes.Mov64Imm, 0, 0, 0, 0), 2100));
        slots.Add(new(OpCodes.Exit, 0, 0, 0, 0));
        slots.Add(new(OpCodes.Mov64Imm, 0, 0, 0, 1));
        slots.Add(new(OpCodes.Exit, 0, 0, 0, 0));
        Assert.Equal(2106, slots.Count);
        return Instruction.EncodeAll(slots.ToArray());
    }

    /// <summary>The bytes as the plugin reads them: hex pairs separated by spaces.</summary>
    public static string Hex(byte[] bytes) => string.Join(' ', bytes.Select(b => b.ToString("x2")));

    private static void AssertIssueRejection(EbpfVerificationException error)
    {
        Assert.Equal(1, error.Pc);
        Assert.Equal("jump target 2104 is outside the function at 0..2103", error.Reason);
    }

    [Fact]
    public void The_loader_rejects_the_issue_program_at_the_unreachable_jump()
    {
        AssertIssueRejection(Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(IssueProgram())));
    }

    [Fact]
    public void The_structural_analysis_rejects_it_whatever_verifier_is_plugged_in()
    {
        var acceptAll = new DelegateVerifier(_ => null);
        AssertIssueRejection(Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(IssueProgram(), acceptAll)));
    }

    [Fact]
    public void A_short_unreachable_jump_into_another_function_is_rejected_too()
    {
        // 0: ja +1; 1: ja +2 (unreachable, to f at 4); 2: call local +1; 3: exit; 4: mov r0, 1; 5: exit
        var program = new Instruction[]
        {
            new(OpCodes.Ja, 0, 0, 1, 0), new(OpCodes.Ja, 0, 0, 2, 0), new(OpCodes.Call, 0, 1, 0, 1),
            new(OpCodes.Exit, 0, 0, 0, 0), new(OpCodes.Mov64Imm, 0, 0, 0, 1), new(OpCodes.Exit, 0, 0, 0, 0),
        };
        var error = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(program));
        Assert.Equal(1, error.Pc);
        Assert.Equal("jump target 4 is outside the function at 0..3", error.Reason);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_tool_answers_with_the_verification_error_on_every_engine(string engine)
    {
        using var folder = new Tool.TempFolder();
        string path = Path.Combine(folder.Path, "issue17.bin");
        File.WriteAllBytes(path, IssueProgram());
        var result = Tool.Run("run", path, "--engine", engine);
        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Out);
        Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
        Assert.Contains("pc 1", result.Err);
        Assert.Contains("outside the function", result.Err);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_plugin_answers_with_the_verification_error_on_every_engine(string engine)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ConformancePlugin.Run(["--engine", engine], new StringReader(Hex(IssueProgram())), stdout, stderr);
        Assert.Equal(1, code);
        Assert.Empty(stdout.ToString());
        Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));
        Assert.Contains("outside the function", stderr.ToString());
    }

    [Fact]
    public void A_foreign_exception_in_an_engine_is_one_tool_line_not_an_abort()
    {
        var selector = new EngineSelector([new BrokenEngine()], BrokenEngine.EngineName);
        var result = Tool.Run(selector, "run", Tool.Example("tcp_port.s"), "--engine", BrokenEngine.EngineName);
        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Out);
        Assert.Equal("ebpf: error: IndexOutOfRangeException: broken on purpose\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_foreign_exception_in_the_plugin_is_one_line_not_an_abort()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ConformancePlugin.Run([], new ThrowingReader(), stdout, stderr);
        Assert.Equal(1, code);
        Assert.Empty(stdout.ToString());
        Assert.Equal("internal error: NotSupportedException: unreadable on purpose\n", stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_foreign_exception_outside_any_command_is_one_tool_line()
    {
        // --help is written by the command-line library, outside the commands' own error handling.
        using var error = new StringWriter();
        int code = EbpfTool.Run(["--help"], new ThrowingWriter(), error);
        Assert.Equal(1, code);
        Assert.Equal("ebpf: error: internal error: NotSupportedException: unwritable on purpose\n", error.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void An_engine_defect_during_compile_becomes_a_compilation_exception_that_keeps_the_cause()
    {
        var cause = new IndexOutOfRangeException("broken on purpose");
        var error = Assert.Throws<EbpfCompilationException>(() => EbpfCompilationException.Guard("il", () => throw cause));
        Assert.Same(cause, error.InnerException);
        Assert.Equal("il", error.Engine);
        Assert.Equal(-1, error.Pc);
        Assert.Equal("il: cannot compile program: internal error: IndexOutOfRangeException: broken on purpose", error.Message);

        var own = new EbpfVerificationException("own");
        Assert.Same(own, Assert.Throws<EbpfVerificationException>(() => EbpfCompilationException.Guard("il", () => throw own)));
        Assert.Throws<ArgumentOutOfRangeException>(() => EbpfCompilationException.Guard("il", () => throw new ArgumentOutOfRangeException("x")));
    }

    /// <summary>An engine whose Compile fails the way the IL engine did in the issue.</summary>
    private sealed class BrokenEngine : IExecutionEngine
    {
        public const string EngineName = "broken";

        public string Name => EngineName;

        public EngineCapabilities Capabilities => default;

        public bool IsAvailable => true;

        public string? UnavailableReason => null;

        public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
            throw new IndexOutOfRangeException("broken on purpose");
    }

    private sealed class ThrowingWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new NotSupportedException("unwritable on purpose");
    }

    private sealed class ThrowingReader : TextReader
    {
        public override string ReadToEnd() => throw new NotSupportedException("unreadable on purpose");
    }
}
