namespace Ebpf.Cli.Benchmarking;

/// <summary>
/// One run over a memory buffer, as the measuring loop calls it. The loop is generic over the struct that implements
/// this (see <see cref="BenchRunner"/>), so the runtime compiles one loop per kind of run and inlines the call: a run of
/// a <see cref="Execution.CompiledProgram"/> is then a direct call of its public entry point,
/// <see cref="Execution.CompiledProgram.Run(Span{byte})"/>, with no delegate or interface dispatch between the loop and
/// the program.
/// </summary>
internal interface ISpanRun
{
    /// <summary>Runs once over <paramref name="memory"/>.</summary>
    /// <param name="memory">The program's memory.</param>
    /// <returns>r0.</returns>
    ulong Run(Span<byte> memory);
}
