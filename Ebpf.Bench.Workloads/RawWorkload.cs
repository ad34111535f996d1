using System.Collections.Immutable;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// A workload whose program needs nothing but its input (and, for some, helpers the host registers): the raw
/// <c>.text</c> bytes of the clang-built object (<c>examples/bench/&lt;program&gt;.bin</c>), run with an environment of
/// its own. Independent of the ELF loader.
/// </summary>
internal sealed class RawWorkload : Workload
{
    private readonly Lazy<ImmutableArray<byte>> code;
    private readonly Func<ProgramEnvironment> environment;

    /// <summary>Creates the workload.</summary>
    /// <param name="name">The workload's name.</param>
    /// <param name="program">The C source / program name in <c>examples/bench</c>.</param>
    /// <param name="inputLength">The input length in bytes.</param>
    /// <param name="expected">The native reference's r0.</param>
    /// <param name="fill">Fills the input.</param>
    /// <param name="description">What the workload does.</param>
    /// <param name="environment">Creates the environment of each compilation (helpers); null: an empty one.</param>
    public RawWorkload(
        string name, string program, int inputLength, ulong expected, Action<byte[]> fill, string description, Func<ProgramEnvironment>? environment = null)
        : base(name, program, inputLength, expected, fill, description)
    {
        code = new Lazy<ImmutableArray<byte>>(ReadEmbeddedFile);
        this.environment = environment ?? (() => new ProgramEnvironment());
    }

    /// <inheritdoc />
    public override string ProgramFile => ProgramName + ".bin";

    /// <summary>The program's bytes.</summary>
    public ImmutableArray<byte> Code => code.Value;

    /// <summary>Decodes the program with the structural checks only (the workloads are trusted, looping C code).</summary>
    public EbpfProgram LoadProgram() => EbpfProgram.Create(Code.AsSpan(), NoPolicyVerifier.Instance, Name);

    /// <inheritdoc />
    public override CompiledWorkload Compile(IExecutionEngine engine, ExecutionOptions options) =>
        new(engine.Compile(LoadProgram(), environment(), options), null);
}
