namespace Ebpf.Cli.Benchmarking;

/// <summary>
/// One run over a memory buffer, as a delegate bound to one compiled program. The measuring loop calls this rather
/// than <see cref="ICompiledProgram"/>: a delegate call costs the same whatever type is behind it, whereas an
/// interface call site that has seen several engines' types dispatches more slowly for the engines measured later.
/// </summary>
/// <param name="memory">The program's memory.</param>
/// <returns>r0.</returns>
internal delegate ulong SpanRun(Span<byte> memory);
