using Ebpf.Helpers;

namespace Ebpf.Elf;

/// <summary>How an <see cref="ElfRuntime"/> is set up.</summary>
public sealed record ElfRuntimeOptions
{
    /// <summary>The verifier used when none is given: the default policy verifier (<see cref="Verification.Verifier.Default"/>).</summary>
    public static IVerifier DefaultVerifier => Verification.Verifier.Default;

    /// <summary>The settings of the Linux helpers registered in the environment (trace output, random seed, clock).</summary>
    public LinuxHelperOptions Helpers { get; init; } = new();

    /// <summary>The verifier programs are linked with; null uses <see cref="DefaultVerifier"/>.</summary>
    public IVerifier? Verifier { get; init; }

    /// <summary>The most bytes of map storage (all maps and global data together) a runtime may allocate. Default 256 MiB.</summary>
    public ulong MaxMapMemory { get; init; } = 256ul << 20;

    /// <summary>
    /// The number of possible CPUs of the object's per-CPU maps (one value each); 0, the default, is
    /// <see cref="Environment.ProcessorCount"/>. The run's CPU is <see cref="LinuxHelperOptions.ProcessorId"/>.
    /// </summary>
    public int PossibleCpus { get; init; }

    /// <summary>Extra helpers to register after the Linux ones (they replace helpers with the same id).</summary>
    public IEnumerable<Helper> ExtraHelpers { get; init; } = [];
}
