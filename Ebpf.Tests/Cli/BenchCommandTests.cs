using System.Text.Json;
using Ebpf.Interpreter;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

public class BenchCommandTests
{
    private static readonly string Packet = Convert.ToHexString(Tool.TcpPacket(80));

    private static readonly string RunCounter = Path.Combine(ConformanceSuite.RepositoryRoot, "Ebpf.Tests", "Cli", "Objects", "run_counter.o");

    [Fact]
    public void Json_reports_every_available_engine_and_the_agreed_r0()
    {
        var result = Tool.Run("bench", Tool.Example("tcp_port.s"), "--mem-hex", Packet, "-n", "20", "--batches", "3", "--json");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(80UL, root.GetProperty("r0").GetUInt64());
        Assert.Equal(17, root.GetProperty("slots").GetInt32());
        var engines = root.GetProperty("engines").EnumerateArray().ToList();
        Assert.Equal(TestEngines.All.Select(e => e.Name), engines.Select(e => e.GetProperty("name").GetString()));
        foreach (var engine in engines)
        {
            Assert.Equal(20, engine.GetProperty("runsPerBatch").GetInt64());
            Assert.Equal(3, engine.GetProperty("batches").GetInt32());
            Assert.True(engine.GetProperty("minNsPerRun").GetDouble() > 0);
            Assert.True(engine.GetProperty("medianNsPerRun").GetDouble() >= engine.GetProperty("minNsPerRun").GetDouble());
            Assert.True(engine.GetProperty("loopNsPerRun").GetDouble() >= 0);
            Assert.True(engine.GetProperty("compileMs").GetDouble() >= 0);
            Assert.True(engine.GetProperty("compileAndFirstRunMs").GetDouble() >= engine.GetProperty("compileMs").GetDouble());
        }
    }

    [Fact]
    public void The_table_has_a_row_per_chosen_engine()
    {
        var result = Tool.Run("bench", Tool.Example("tcp_port.s"), "--mem-hex", Packet, "-n", "10", "--batches", "1", "--engines", "interpreter");
        Assert.Equal(0, result.ExitCode);
        var lines = result.OutLines;
        Assert.Equal(4, lines.Length);
        Assert.Equal($"{Tool.Example("tcp_port.s")}: 17 slots; r0 = 0x50 (80) on every engine", lines[0]);
        Assert.Equal(["engine", "compile", "ms", "compile+1st", "run", "ms", "min", "ns/run", "median", "ns/run", "loop", "ns/run", "runs/batch", "batches"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("interpreter", row[0]);
        Assert.Equal(8, row.Length);
        Assert.Equal(["10", "1"], row[^2..]);
        Assert.StartsWith("ns/run include the measuring loop", lines[3]);
    }

    [Fact]
    public void Each_engine_runs_a_program_with_state_on_its_own_fresh_maps_and_global_data()
    {
        // run_counter.o counts its runs in .bss and in an array map and returns 1,000 x one count + the other: 1001
        // only on the first run of a freshly loaded object. Sharing one runtime, the second engine would return 2002.
        var result = Tool.Run("bench", RunCounter, "-n", "25", "--batches", "2", "--json");
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(1001UL, json.RootElement.GetProperty("r0").GetUInt64());
        Assert.Equal(TestEngines.All.Select(e => e.Name), json.RootElement.GetProperty("engines").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.True(TestEngines.All.Count >= 2, "the test needs two engines to show they do not share state");
    }

    [Fact]
    public void Engines_that_disagree_are_an_error()
    {
        var engines = new EngineSelector([new InterpreterEngine(), new OffByOneEngine()]);
        var result = Tool.Run(engines, "bench", Tool.Example("tcp_port.s"), "--mem-hex", Packet, "-n", "1", "--batches", "1");
        Assert.Equal((1, ""), (result.ExitCode, result.Out));
        Assert.Equal("ebpf: error: the engines disagree on r0: interpreter 0x50 (80), off-by-one 0x51 (81)\n", result.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void An_unknown_engine_in_the_list_is_a_usage_error()
    {
        var result = Tool.Run("bench", Tool.Example("tcp_port.s"), "--engines", "interpreter,jit");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("ebpf: error: unknown engine 'jit'", result.Err);
    }

    /// <summary>An engine whose programs return one more than the interpreter's.</summary>
    private sealed class OffByOneEngine : IExecutionEngine
    {
        public string Name => "off-by-one";

        public EngineCapabilities Capabilities => EngineCapabilities.None;

        public bool IsAvailable => true;

        public string? UnavailableReason => null;

        public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
            new Compiled(new InterpreterEngine().Compile(program, environment, options));

        private sealed class Compiled(ICompiledProgram inner) : ICompiledProgram
        {
            public string EngineName => "off-by-one";

            public EbpfProgram Program => inner.Program;

            public ProgramEnvironment Environment => inner.Environment;

            public ExecutionOptions Options => inner.Options;

            public ulong Run() => inner.Run() + 1;

            public ulong Run(Span<byte> memory) => inner.Run(memory) + 1;

            public ulong Run(Span<byte> memory, Span<byte> metadata) => inner.Run(memory, metadata) + 1;

            public ulong Run(Span<byte> memory, CancellationToken cancellationToken) => inner.Run(memory, cancellationToken) + 1;

            public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellationToken) => inner.Run(memory, metadata, cancellationToken) + 1;

            public void Dispose() => inner.Dispose();
        }
    }
}
