using System.Collections.Immutable;
using System.Reflection;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// One benchmark workload: an eBPF program compiled with clang from <c>examples/bench/&lt;program&gt;.c</c> (its
/// <c>.text</c> bytes are embedded as a resource), a deterministic input buffer, and the r0 the same C code returns
/// when compiled natively (recorded from <c>bench/native/run.sh</c>, the independent reference).
/// </summary>
internal sealed class Workload
{
    private readonly Action<byte[]> fill;
    private readonly Lazy<ImmutableArray<byte>> code;

    /// <summary>Creates a workload.</summary>
    public Workload(string name, string program, int inputLength, bool loopHeavy, ulong expected, Action<byte[]> fill, string description)
    {
        Name = name;
        ProgramName = program;
        InputLength = inputLength;
        LoopHeavy = loopHeavy;
        Expected = expected;
        Description = description;
        this.fill = fill;
        code = new Lazy<ImmutableArray<byte>>(() => ReadCode(program));
    }

    /// <summary>The workload's name (also the name the native driver prints).</summary>
    public string Name { get; }

    /// <summary>The name of the C source / eBPF object in <c>examples/bench</c>, without extension.</summary>
    public string ProgramName { get; }

    /// <summary>The length of the input buffer in bytes.</summary>
    public int InputLength { get; }

    /// <summary>True for the loop-heavy workloads the performance targets average over.</summary>
    public bool LoopHeavy { get; }

    /// <summary>The r0 of the natively compiled C code on the same input.</summary>
    public ulong Expected { get; }

    /// <summary>What the workload does.</summary>
    public string Description { get; }

    /// <summary>The program's bytes (the <c>.text</c> section of the clang-built object).</summary>
    public ImmutableArray<byte> Code => code.Value;

    /// <summary>Decodes the program with the structural checks only (the workloads are trusted, looping C code).</summary>
    public EbpfProgram LoadProgram() => EbpfProgram.Create(Code.AsSpan(), NoPolicyVerifier.Instance, Name);

    /// <summary>A fresh input buffer with the workload's deterministic contents.</summary>
    public byte[] CreateInput()
    {
        var input = new byte[InputLength];
        fill(input);
        return input;
    }

    /// <summary>Compiles the workload on <paramref name="engine"/> and runs it once on a fresh input; returns r0.</summary>
    public ulong RunOnce(IExecutionEngine engine, ExecutionOptions options)
    {
        using var compiled = engine.Compile(LoadProgram(), new ProgramEnvironment(), options);
        return compiled.Run(CreateInput());
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    private static ImmutableArray<byte> ReadCode(string program)
    {
        var resource = "EbpfBench." + program + ".bin";
        using var stream = typeof(Workload).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded workload program '{resource}' is missing from {typeof(Workload).Assembly.GetName().Name}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return ImmutableArray.Create(bytes);
    }
}
