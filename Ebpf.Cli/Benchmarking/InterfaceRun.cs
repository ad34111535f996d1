namespace Ebpf.Cli.Benchmarking;

/// <summary>A run of a compiled program of any other kind, through <see cref="ICompiledProgram.Run(Span{byte})"/>.</summary>
/// <param name="program">The compiled program.</param>
internal readonly struct InterfaceRun(ICompiledProgram program) : ISpanRun
{
    /// <inheritdoc />
    public ulong Run(Span<byte> memory) => program.Run(memory);
}
