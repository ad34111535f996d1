using Ebpf.Isa;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// A verifier with no policy of its own: the workloads (clang output with loops) get only the structural checks
/// <see cref="EbpfProgram"/> always makes.
/// </summary>
internal sealed class NoPolicyVerifier : IVerifier
{
    /// <summary>The shared instance.</summary>
    public static NoPolicyVerifier Instance { get; } = new();

    /// <inheritdoc />
    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
    }
}
