using System.Collections.Immutable;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// One benchmark workload: an eBPF program compiled with clang from <c>examples/bench/&lt;program&gt;.c</c> (embedded
/// as a resource), a deterministic input buffer, and the r0 the same C code returns when compiled natively (recorded
/// from <c>bench/native/run.sh</c>, the independent reference).
/// </summary>
internal abstract class Workload
{
    private readonly Action<byte[]> fill;

    /// <summary>Initialises the common part.</summary>
    protected Workload(string name, string program, int inputLength, ulong expected, Action<byte[]> fill, string description)
    {
        Name = name;
        ProgramName = program;
        InputLength = inputLength;
        Expected = expected;
        Description = description;
        this.fill = fill;
    }

    /// <summary>The workload's name (also the name the native driver prints).</summary>
    public string Name { get; }

    /// <summary>The name of the C source in <c>examples/bench</c>, without extension.</summary>
    public string ProgramName { get; }

    /// <summary>The committed file the program is read from (<c>examples/bench/&lt;name&gt;</c>).</summary>
    public abstract string ProgramFile { get; }

    /// <summary>The length of the input buffer in bytes.</summary>
    public int InputLength { get; }

    /// <summary>The r0 of the natively compiled C code on the same input.</summary>
    public ulong Expected { get; }

    /// <summary>What the workload does.</summary>
    public string Description { get; }

    /// <summary>A fresh input buffer with the workload's deterministic contents.</summary>
    public byte[] CreateInput()
    {
        var input = new byte[InputLength];
        fill(input);
        return input;
    }

    /// <summary>Compiles the workload on <paramref name="engine"/> with what it needs (e.g. its maps, filled).</summary>
    public abstract CompiledWorkload Compile(IExecutionEngine engine, ExecutionOptions options);

    /// <summary>Compiles the workload on <paramref name="engine"/> and runs it once on a fresh input; returns r0.</summary>
    public ulong RunOnce(IExecutionEngine engine, ExecutionOptions options)
    {
        using var compiled = Compile(engine, options);
        return compiled.Program.Run(CreateInput());
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The embedded copy of <see cref="ProgramFile"/>.</summary>
    public ImmutableArray<byte> ReadEmbeddedFile() => ReadEmbedded(ProgramFile);

    /// <summary>The embedded copy of the file <c>examples/bench/&lt;file&gt;</c>.</summary>
    protected static ImmutableArray<byte> ReadEmbedded(string file)
    {
        var resource = "EbpfBench." + file;
        using var stream = typeof(Workload).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded workload program '{resource}' is missing from {typeof(Workload).Assembly.GetName().Name}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return ImmutableArray.Create(bytes);
    }
}
