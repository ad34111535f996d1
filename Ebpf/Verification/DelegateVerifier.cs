using Ebpf.Isa;

namespace Ebpf.Verification;

/// <summary>An <see cref="IVerifier"/> made of a <see cref="ProgramCheck"/> function (see <see cref="Verifier.FromDelegate"/>).</summary>
public sealed class DelegateVerifier : IVerifier
{
    private readonly ProgramCheck check;

    /// <summary>Wraps a verifying function.</summary>
    /// <param name="check">Returns null to accept the encoded program, or the reason to reject it.</param>
    public DelegateVerifier(ProgramCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        this.check = check;
    }

    /// <inheritdoc />
    /// <exception cref="EbpfVerificationException">The function returned a reason (reported for the whole program, pc -1).</exception>
    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
        var reason = check(Instruction.EncodeAll(instructions));
        if (reason is not null)
        {
            throw new EbpfVerificationException(reason);
        }
    }
}
