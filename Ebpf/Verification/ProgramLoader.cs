using Ebpf.Isa;

namespace Ebpf.Verification;

/// <summary>
/// One-call loading of bytecode with the default policy: <see cref="Verifier.Default"/> followed by the structural
/// checks of <see cref="EbpfProgram"/>. Use <see cref="EbpfProgram.Create(ReadOnlySpan{byte}, IVerifier, string?, string?)"/>
/// directly to pass another verifier.
/// </summary>
public static class ProgramLoader
{
    /// <summary>Decodes and verifies a program with <see cref="Verifier.Default"/>.</summary>
    /// <param name="code">The bytecode (8 bytes per slot, little-endian).</param>
    /// <param name="name">An optional program name.</param>
    /// <param name="section">An optional section name.</param>
    /// <exception cref="EbpfDecodeException">The length is not a multiple of 8.</exception>
    /// <exception cref="EbpfVerificationException">The program breaks a rule.</exception>
    public static EbpfProgram Load(ReadOnlySpan<byte> code, string? name = null, string? section = null) =>
        EbpfProgram.Create(code, Verifier.Default, name, section);

    /// <summary>Verifies a program given as slots with <see cref="Verifier.Default"/>.</summary>
    /// <param name="instructions">The slots (an <c>lddw</c> takes two).</param>
    /// <param name="name">An optional program name.</param>
    /// <param name="section">An optional section name.</param>
    /// <exception cref="EbpfVerificationException">The program breaks a rule.</exception>
    public static EbpfProgram Load(ReadOnlySpan<Instruction> instructions, string? name = null, string? section = null) =>
        EbpfProgram.Create(instructions, Verifier.Default, name, section);
}
