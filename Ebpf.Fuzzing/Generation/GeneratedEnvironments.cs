using Ebpf.Kernel;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The environments of a campaign's programs: one for the programs that run on raw memory, and one per kernel program
/// type (each with the packet helpers of its type: an environment serves one type). Each is a
/// <see cref="GeneratedEnvironment.Create"/> environment with its own maps and tail-call targets.
/// </summary>
public sealed class GeneratedEnvironments
{
    private readonly ProgramEnvironment[] kernel;

    private GeneratedEnvironments(ProgramEnvironment raw, ProgramEnvironment[] kernel)
    {
        Raw = raw;
        this.kernel = kernel;
    }

    /// <summary>The environment of the programs that run on raw memory.</summary>
    public ProgramEnvironment Raw { get; }

    /// <summary>Creates the environments.</summary>
    /// <param name="tailCallEngine">Compiles the tail-call targets (null: every tail call falls through).</param>
    public static GeneratedEnvironments Create(IExecutionEngine? tailCallEngine = null)
    {
        var kernel = Enum.GetValues<KernelProgramType>().Select(type =>
        {
            var environment = GeneratedEnvironment.Create(tailCallEngine);
            PacketHelpers.Register(environment.Helpers, type);
            return environment;
        }).ToArray();
        return new GeneratedEnvironments(GeneratedEnvironment.Create(tailCallEngine), kernel);
    }

    /// <summary>The environment of the kernel programs of <paramref name="type"/>.</summary>
    /// <param name="type">The program type.</param>
    public ProgramEnvironment For(KernelProgramType type) => kernel[(int)type];
}
