using Ebpf.Elf;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// A workload whose program uses maps: the clang-built object (<c>examples/bench/&lt;program&gt;.o</c>) is loaded with
/// the ELF loader, its maps are created and filled by <paramref name="fillMaps"/>, and the program is compiled with
/// the object's environment (Linux helpers, map regions, <c>lddw</c> map references).
/// </summary>
/// <param name="name">The workload's name.</param>
/// <param name="program">The C source / object name in <c>examples/bench</c>; the function is <c>bench_&lt;program&gt;</c>.</param>
/// <param name="inputLength">The input length in bytes.</param>
/// <param name="expected">The native reference's r0.</param>
/// <param name="fill">Fills the input.</param>
/// <param name="fillMaps">Fills the object's maps before the runs.</param>
/// <param name="description">What the workload does.</param>
internal sealed class ElfMapWorkload(
    string name, string program, int inputLength, ulong expected, Action<byte[]> fill, Action<ElfRuntime> fillMaps, string description)
    : Workload(name, program, inputLength, expected, fill, description)
{
    private readonly Lazy<ElfObject> elf = new(() => ElfLoader.Load(ReadEmbedded(program + ".o").AsSpan(), program + ".o"));

    /// <inheritdoc />
    public override string ProgramFile => ProgramName + ".o";

    /// <inheritdoc />
    public override CompiledWorkload Compile(IExecutionEngine engine, ExecutionOptions options)
    {
        var runtime = elf.Value.CreateRuntime(new ElfRuntimeOptions { Verifier = NoPolicyVerifier.Instance });
        try
        {
            fillMaps(runtime);
            return new CompiledWorkload(runtime.Compile(engine, "bench_" + ProgramName, options), runtime);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }
}
