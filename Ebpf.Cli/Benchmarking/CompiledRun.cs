using Ebpf.Execution;

namespace Ebpf.Cli.Benchmarking;

/// <summary>
/// A run of a program compiled by one of the project's engines: its public entry point
/// <see cref="CompiledProgram.Run(Span{byte})"/>, called directly (the method is not virtual, so the loop's optimized
/// code may inline its dispatch to the engine's direct or plain run, as a user's code calling it does).
/// </summary>
/// <param name="program">The compiled program.</param>
internal readonly struct CompiledRun(CompiledProgram program) : ISpanRun
{
    /// <inheritdoc />
    public ulong Run(Span<byte> memory) => program.Run(memory);
}
