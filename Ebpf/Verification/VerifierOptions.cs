namespace Ebpf.Verification;

/// <summary>The policy settings of a <see cref="Verifier"/>. The defaults accept every program of the bpf_conformance suite.</summary>
public sealed record VerifierOptions
{
    /// <summary>
    /// The default maximum program length in slots: 1,000,000, rbpf's <c>PROG_MAX_INSNS</c> (and
    /// <see cref="EbpfProgram.MaxSlots"/>, the structural limit). Lower it for untrusted input (uBPF uses 65,536).
    /// </summary>
    public const int DefaultMaxSlots = 1_000_000;

    /// <summary>The defaults: see each property.</summary>
    public static VerifierOptions Default { get; } = new();

    /// <summary>The most slots (8-byte instruction words; an <c>lddw</c> takes two) a program may have. Default <see cref="DefaultMaxSlots"/>.</summary>
    public int MaxSlots { get; init; } = DefaultMaxSlots;

    /// <summary>
    /// rbpf's rule that the last slot must be <c>exit</c>. Off by default: the structural check of
    /// <see cref="EbpfProgram"/> already rejects every reachable path that runs off a function's end, and the
    /// conformance suite has valid programs that end with a backward <c>ja</c> (<c>exit-not-last</c>, <c>ja32</c>).
    /// </summary>
    public bool RequireExitAtEnd { get; init; }

    /// <summary>
    /// rbpf's "infinite loop" rule: a jump to itself (offset -1; for <c>ja32</c> imm -1) is rejected. Such a jump
    /// changes no state, so once taken it is taken forever. On by default.
    /// </summary>
    public bool RejectSelfJumps { get; init; } = true;

    /// <summary>Whether the legacy packet loads (<c>LD_ABS</c>/<c>LD_IND</c>, opcodes 0x20-0x58) are allowed. Default true (rbpf has them).</summary>
    public bool AllowLegacyPacketLoads { get; init; } = true;

    /// <summary>Whether <c>lddw</c> may use the pseudo sources 1-6 (maps, variables, code addresses). Default true.</summary>
    public bool AllowLddwPseudoSources { get; init; } = true;
}
