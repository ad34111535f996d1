namespace Ebpf.Verification;

/// <summary>
/// How much the safety analysis must accept before a program runs: the engines' compilation
/// (<see cref="ExecutionOptions.Verification"/>, <see cref="Hybrid"/> by default) and a <c>ProvingVerifier</c> at load.
/// </summary>
public enum VerificationMode
{
    /// <summary>
    /// The default. Reject definite errors (a register or stack byte read before it is written, an access outside the
    /// region its pointer points into on every path, a helper argument of the wrong kind); accesses neither proven nor
    /// refuted keep their run-time checks.
    /// </summary>
    Hybrid,

    /// <summary>Kernel-like: every memory access (and every helper's memory argument) must be proven in bounds, else the program is rejected.</summary>
    Strict,

    /// <summary>
    /// No proof is demanded: only the structural rules of <see cref="EbpfProgram"/> (and the policy of the verifier
    /// the program was created with) apply, as before the hybrid default; a program the analysis finds errors in still
    /// runs, and the run-time checks (with <see cref="ExecutionOptions.MemoryChecks"/> on) stop what goes wrong. For
    /// tests of the run-time checks themselves and for programs the analysis rejects wrongly.
    /// </summary>
    Structural,
}
