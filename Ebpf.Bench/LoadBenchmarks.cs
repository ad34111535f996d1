using BenchmarkDotNet.Attributes;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>The engine-independent part of loading: decoding bytes into an <see cref="EbpfProgram"/> with its structural checks.</summary>
[MemoryDiagnoser]
public class LoadBenchmarks
{
    private byte[] code = [];

    /// <summary>The program's length in instruction slots.</summary>
    [Params(100, 1_000, 10_000, 100_000)]
    public int Instructions { get; set; } = 100;

    /// <summary>Generates the program's bytes.</summary>
    [GlobalSetup]
    public void Setup() => code = Ebpf.Isa.Instruction.EncodeAll(ProgramGenerator.Generate(Instructions));

    /// <summary>Decode and check.</summary>
    [Benchmark]
    public EbpfProgram Load() => EbpfProgram.Create(code, NoPolicyVerifier.Instance);
}
