namespace Ebpf.Verification;

/// <summary>
/// An rbpf-style verifying function (rbpf's <c>type Verifier = fn(prog: &amp;[u8]) -> Result&lt;(), Error&gt;</c>):
/// it receives the encoded program (8 bytes per slot, little-endian) and returns null to accept it, or the reason
/// to reject it. It may also throw <see cref="EbpfVerificationException"/> itself to name a pc.
/// </summary>
/// <param name="code">The encoded program.</param>
/// <returns>Null to accept; otherwise the reason for rejecting the program.</returns>
public delegate string? ProgramCheck(ReadOnlySpan<byte> code);
