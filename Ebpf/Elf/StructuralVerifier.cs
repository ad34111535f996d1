using Ebpf.Isa;

namespace Ebpf.Elf;

/// <summary>
/// A verifier with no policy of its own: <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/>
/// still applies every structural rule the engines rely on.
/// </summary>
internal sealed class StructuralVerifier : IVerifier
{
    public static StructuralVerifier Instance { get; } = new();

    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
    }
}
