using System.Collections.Immutable;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// A workload whose program needs nothing but its input: the raw <c>.text</c> bytes of the clang-built object
/// (<c>examples/bench/&lt;program&gt;.bin</c>), run with an empty environment. Independent of the ELF loader.
/// </summary>
internal sealed class RawWorkload : Workload
{
    private readonly Lazy<ImmutableArray<byte>> code;

    /// <summary>Creates the workload.</summary>
    public RawWorkload(string name, string program, int inputLength, bool loopHeavy, ulong expected, Action<byte[]> fill, string description)
        : base(name, program, inputLength, loopHeavy, expected, fill, description)
    {
        code = new Lazy<ImmutableArray<byte>>(ReadEmbeddedFile);
    }

    /// <inheritdoc />
    public override string ProgramFile => ProgramName + ".bin";

    /// <summary>The program's bytes.</summary>
    public ImmutableArray<byte> Code => code.Value;

    /// <summary>Decodes the program with the structural checks only (the workloads are trusted, looping C code).</summary>
    public EbpfProgram LoadProgram() => EbpfProgram.Create(Code.AsSpan(), NoPolicyVerifier.Instance, Name);

    /// <inheritdoc />
    public override CompiledWorkload Compile(IExecutionEngine engine, ExecutionOptions options) =>
        new(engine.Compile(LoadProgram(), new ProgramEnvironment(), options), null);
}
