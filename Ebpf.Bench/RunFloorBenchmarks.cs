using BenchmarkDotNet.Attributes;
using Ebpf.Bench.Workloads;
using Ebpf.Assembly;
using Ebpf.Verification;

namespace Ebpf.Bench;

/// <summary>
/// The per-run floor and the cost of a helper call, memory checks on: <c>return</c> (<c>mov r0, 1; exit</c>),
/// <c>two-loads</c> (two 8-byte loads from the input and an add), <c>frame</c> (two stores to the stack frame, one of
/// an input word, and two loads back), <c>helper</c> (one call to a trivial rbpf-style
/// helper), <c>helper-loop</c> (100 calls in a loop: the per-call cost is its time minus <c>helper</c>'s, over 99),
/// <c>helper-local</c> (the same loop in a local function) and <c>loop-helper</c> (a 1,000-iteration loop that calls no
/// helper, then one call).
/// Each setup checks the result, so a broken engine cannot report a fast time.
/// </summary>
[MemoryDiagnoser]
public class RunFloorBenchmarks
{
    /// <summary>The helper id the programs call.</summary>
    private const uint HelperId = 1;

    /// <summary>The programs by name: assembly source and the r0 a run on <see cref="CreateInput"/> returns.</summary>
    internal static readonly Dictionary<string, (string Source, ulong Expected)> Programs = new()
    {
        ["return"] = ("mov r0, 1\nexit", 1),
        ["two-loads"] = ("ldxdw r0, [r1]\nldxdw r2, [r1+8]\nadd r0, r2\nexit", 0x0F0E0D0C0B0A0908UL + 0x0706050403020100UL),
        ["frame"] = ("stdw [r10-8], 7\nldxdw r0, [r1]\nstxdw [r10-16], r0\nldxdw r2, [r10-8]\nldxdw r3, [r10-16]\nadd r2, r3\nmov r0, r2\nexit", 0x0706050403020100UL + 7),
        ["helper"] = ("mov r1, 41\ncall 1\nexit", 42),
        ["helper-loop"] = ("mov r6, 100\nmov r7, 0\nmov r1, r6\ncall 1\nadd r7, r0\nsub r6, 1\njne r6, 0, -5\nmov r0, r7\nexit", 5150),
        ["helper-local"] = ("call local f\nexit\nf:\nmov r6, 100\nmov r7, 0\nmov r1, r6\ncall 1\nadd r7, r0\nsub r6, 1\njne r6, 0, -5\nmov r0, r7\nexit", 5150),
        ["loop-helper"] = ("mov r6, 1000\nmov r7, 0\nadd r7, r6\nsub r6, 1\njne r6, 0, -3\nmov r1, r7\ncall 1\nexit", 500501),
    };

    private ICompiledProgram? compiled;
    private byte[] input = [];

    /// <summary>The engines measured (memory checks on).</summary>
    public static IEnumerable<string> Engines => BenchEngines.CheckedLabels.Where(BenchSelection.IncludesEngine);

    /// <summary>The programs measured.</summary>
    public static IEnumerable<string> Shapes => Programs.Keys;

    /// <summary>The engine.</summary>
    [ParamsSource(nameof(Engines))]
    public string Engine { get; set; } = "interpreter";

    /// <summary>The program.</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "return";

    /// <summary>Compiles the program and checks its result once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var configuration = BenchEngines.Get(Engine);
        compiled = Compile(configuration, Shape);
        input = CreateInput();
        var r0 = compiled.Run(input);
        if (r0 != Programs[Shape].Expected)
        {
            throw new InvalidOperationException($"{Engine} returned {r0} on {Shape}; expected {Programs[Shape].Expected}");
        }
    }

    /// <summary>Compiles program <paramref name="shape"/> for an engine configuration, with the trivial helper.</summary>
    internal static ICompiledProgram Compile(EngineConfiguration configuration, string shape)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(HelperId, "plus_one", static (a, _, _, _, _) => a + 1);
        var program = EbpfProgram.Create(Assembler.Assemble(Programs[shape].Source), Verifier.Default, shape);
        return configuration.Engine.Compile(program, environment, configuration.Options);
    }

    /// <summary>The 16-byte input the programs run on (bytes 0..15).</summary>
    internal static byte[] CreateInput()
    {
        var input = new byte[16];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)i;
        }

        return input;
    }

    /// <summary>One run.</summary>
    [Benchmark]
    public ulong Run() => compiled!.Run(input);

    /// <summary>Releases the compiled program.</summary>
    [GlobalCleanup]
    public void Cleanup() => compiled?.Dispose();
}
