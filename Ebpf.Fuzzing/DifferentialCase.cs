using Ebpf.Kernel;

namespace Ebpf.Fuzzing;

/// <summary>One generated program of a differential campaign, ready to run.</summary>
/// <param name="Program">The loaded program.</param>
/// <param name="Input">The memory it runs on; for a kernel program (<see cref="KernelType"/>), the packet (an Ethernet frame).</param>
/// <param name="Environment">Its helpers and maps.</param>
/// <param name="Options">Budget and checks (memory checks on).</param>
/// <param name="Description">The text that reproduces it (its listing, input and budget), printed with a finding.</param>
public sealed record DifferentialCase(EbpfProgram Program, byte[] Input, ProgramEnvironment Environment, ExecutionOptions Options, string Description)
{
    /// <summary>
    /// The kernel program type when the program is written for the kernel: it then runs through
    /// <see cref="KernelProgram"/> (context loads rewritten, packet helpers, a test run on <see cref="Input"/>); null for
    /// a program that runs on raw memory.
    /// </summary>
    public KernelProgramType? KernelType { get; init; }

    /// <summary>The generator family the program comes from (the campaign reports the verifier's results per family).</summary>
    public string Family { get; init; } = "program";
}
