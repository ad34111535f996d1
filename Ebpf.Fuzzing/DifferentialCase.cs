namespace Ebpf.Fuzzing;

/// <summary>One generated program of a differential campaign, ready to run.</summary>
/// <param name="Program">The loaded program.</param>
/// <param name="Input">The memory it runs on.</param>
/// <param name="Environment">Its helpers and maps.</param>
/// <param name="Options">Budget and checks (memory checks on).</param>
/// <param name="Description">The text that reproduces it (its listing, input and budget), printed with a finding.</param>
public sealed record DifferentialCase(EbpfProgram Program, byte[] Input, ProgramEnvironment Environment, ExecutionOptions Options, string Description);
