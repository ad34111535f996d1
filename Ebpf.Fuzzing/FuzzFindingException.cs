namespace Ebpf.Fuzzing;

/// <summary>
/// A fuzz target found a defect: engines that disagree, an exception outside the project's hierarchy, or an oracle
/// (such as a round trip) that does not hold. Deliberately not an <see cref="EbpfException"/>: the fuzzer reports it as
/// a crash.
/// </summary>
public sealed class FuzzFindingException : Exception
{
    /// <summary>Creates a finding with its description.</summary>
    /// <param name="message">What went wrong, with enough detail to reproduce it.</param>
    public FuzzFindingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates a finding caused by an unexpected exception.</summary>
    /// <param name="message">What was being done.</param>
    /// <param name="inner">The exception that is not the project's.</param>
    public FuzzFindingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
