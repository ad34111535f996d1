namespace Ebpf.Cli.Loading;

/// <summary>A program read from a file, with what it runs with.</summary>
/// <param name="Program">The verified program.</param>
/// <param name="Kind">What the file held.</param>
/// <param name="Environment">The helpers (and, for ELF objects, maps) the program may use.</param>
/// <param name="Memory">The memory the file itself gives the program (a conformance test's <c>mem</c> section), or null.</param>
/// <param name="ExpectedResult">The r0 the file expects (a conformance test's <c>result</c> section), or null.</param>
internal sealed record LoadedProgram(EbpfProgram Program, ProgramKind Kind, ProgramEnvironment Environment, byte[]? Memory, ulong? ExpectedResult);
