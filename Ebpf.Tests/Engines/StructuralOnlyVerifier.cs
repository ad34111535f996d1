using Ebpf.Isa;

namespace Ebpf.Tests.Engines;

/// <summary>A verifier with no policy of its own: programs get only the structural checks EbpfProgram always makes.</summary>
public sealed class StructuralOnlyVerifier : IVerifier
{
    public static StructuralOnlyVerifier Instance { get; } = new();

    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
    }
}
