using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Verification;

/// <summary>
/// A verifier that proves programs safe by abstract interpretation (<see cref="SafetyAnalysis"/>: types, ranges,
/// known bits, input-length relations, stack initialisation, helper signatures) on top of the policy checks of a
/// <see cref="Verifier"/>. In <see cref="VerificationMode.Strict"/> mode a program loads only when every access is
/// proven; in <see cref="VerificationMode.Hybrid"/> mode only definite errors reject it (in
/// <see cref="VerificationMode.Structural"/> mode only the policy verifier runs). Select it where an
/// <see cref="IVerifier"/> is taken (e.g. <see cref="EbpfProgram.Create(ReadOnlySpan{Instruction}, IVerifier, string?, string?)"/>)
/// to refuse a program when it is loaded, under a <see cref="SafetyContext"/> of your choice. Without it the engines
/// apply the same rule when they compile the program (<see cref="ExecutionOptions.Verification"/>, hybrid by default),
/// under the compilation's own environment and options.
/// </summary>
public sealed class ProvingVerifier : IVerifier
{
    /// <summary>Creates a proving verifier.</summary>
    /// <param name="mode">Hybrid, strict or structural (the policy only).</param>
    /// <param name="context">The helpers, maps, stack size and call depth the programs will run with (see <see cref="SafetyContext.For"/>).</param>
    /// <param name="policy">The policy verifier run first (<see cref="Verifier.Default"/> when null).</param>
    /// <exception cref="EbpfVerificationException"><paramref name="mode"/> is not a defined <see cref="VerificationMode"/>.</exception>
    public ProvingVerifier(VerificationMode mode, SafetyContext context, IVerifier? policy = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Enum.IsDefined(mode))
        {
            throw new EbpfVerificationException($"{(int)mode} is not a verification mode (Hybrid, Strict, Structural)");
        }

        Mode = mode;
        Context = context;
        Policy = policy ?? Verifier.Default;
    }

    /// <summary>Hybrid, strict or structural.</summary>
    public VerificationMode Mode { get; }

    /// <summary>What the analysis assumes about helpers, maps and the stack.</summary>
    public SafetyContext Context { get; }

    /// <summary>The policy verifier run first.</summary>
    public IVerifier Policy { get; }

    /// <inheritdoc />
    /// <exception cref="EbpfVerificationException">The first error (or, in strict mode, the first unproven point), with its pc, instruction and reason.</exception>
    public void Verify(ReadOnlySpan<Instruction> instructions)
    {
        var program = EbpfProgram.Create(instructions, Policy);
        if (Mode != VerificationMode.Structural && program.Analysis.Safety(Context).Rejection(program, Mode) is { } rejection)
        {
            throw rejection;
        }
    }

    /// <summary>True when <paramref name="analysis"/> is accepted in <paramref name="mode"/> (always in <see cref="VerificationMode.Structural"/>).</summary>
    public static bool Accepts(SafetyAnalysis analysis, VerificationMode mode)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return mode switch
        {
            VerificationMode.Strict => analysis.IsProven,
            VerificationMode.Structural => true,
            _ => analysis.IsSafe,
        };
    }
}
