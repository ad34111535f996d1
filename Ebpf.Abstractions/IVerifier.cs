using Ebpf.Isa;

namespace Ebpf;

/// <summary>
/// Decides whether a program may be loaded (rbpf's <c>set_verifier</c>). Independently of the verifier,
/// <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/> always enforces the
/// structural rules the engines rely on (see <see cref="EbpfProgram"/>); a verifier adds its own policy on top.
/// </summary>
public interface IVerifier
{
    /// <summary>Checks the decoded slots; throws <see cref="EbpfVerificationException"/> naming the pc and the rule on the first violation.</summary>
    void Verify(ReadOnlySpan<Instruction> instructions);
}
