namespace Ebpf.Verification;

/// <summary>How much a <see cref="ProvingVerifier"/> demands.</summary>
public enum VerificationMode
{
    /// <summary>
    /// Reject definite errors (a register or stack byte read before it is written, an access outside the region its
    /// pointer points into on every path, a helper argument of the wrong kind); accesses neither proven nor refuted
    /// keep their run-time checks.
    /// </summary>
    Hybrid,
    /// <summary>Kernel-like: every memory access (and every helper's memory argument) must be proven in bounds, else the program is rejected.</summary>
    Strict,
}
