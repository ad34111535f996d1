using System.Collections.Immutable;

namespace Ebpf.Helpers;

/// <summary>
/// The argument kinds and return kind of a helper: what the safety analysis checks at each call (registers the
/// helper reads must be initialised, memory it reads or writes must be proven in bounds) and what r0 holds after it.
/// Registers after the last listed argument are not read. Set it with <see cref="Helper.Signature"/>.
/// </summary>
/// <param name="Arguments">The kinds of r1, r2, ... (at most 5).</param>
/// <param name="Return">The kind of r0 after the call.</param>
public sealed record HelperSignature(ImmutableArray<HelperArgumentKind> Arguments, HelperReturnKind Return = HelperReturnKind.Scalar)
{
    /// <summary>
    /// True when the helper may move or resize the packet (e.g. <c>bpf_xdp_adjust_head</c>): after a call, the
    /// analysis forgets every packet, packet-end and meta pointer and every proven packet range, as the kernel does.
    /// </summary>
    public bool ChangesPacketData { get; init; }

    /// <summary>
    /// True when a successful call does not return but ends the program and runs another (<c>bpf_tail_call</c>): the
    /// analysis requires every ring buffer record to be released before it, as the kernel's verifier does.
    /// </summary>
    public bool EndsInTailCall { get; init; }

    /// <summary>
    /// True when an argument is a <see cref="HelperArgumentKind.Function"/>: the helper may call the program back, so
    /// the engines hand it the run's budget and let it run program functions (<see cref="HelperContext.CallFunction"/>).
    /// </summary>
    public bool CallsBack => Arguments.Contains(HelperArgumentKind.Function);

    /// <summary>
    /// For a helper that calls back: what its callback receives in r1, r2, ... (the rest are zero). The safety analysis
    /// follows the callback from each call with these values, as often as it may run; empty when the callback's
    /// arguments are not described (its calls then stay unproven). The helper must pass what it declares: the engines
    /// drop the run-time checks of the callback's accesses the analysis proves from these values.
    /// </summary>
    public ImmutableArray<CallbackArgumentKind> CallbackArguments { get; init; } = [];

    /// <summary>A helper that takes no argument and returns a number.</summary>
    public static HelperSignature NoArguments { get; } = Of();

    /// <summary>A signature returning a number.</summary>
    /// <exception cref="ArgumentException">More than 5 arguments, or a memory argument not followed by its size.</exception>
    public static HelperSignature Of(params HelperArgumentKind[] arguments) => Of(HelperReturnKind.Scalar, arguments);

    /// <summary>A signature.</summary>
    /// <exception cref="ArgumentException">More than 5 arguments, or a memory argument not followed by its size.</exception>
    public static HelperSignature Of(HelperReturnKind result, params HelperArgumentKind[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Length > 5)
        {
            throw new ArgumentException("a helper takes at most 5 arguments (r1-r5)", nameof(arguments));
        }

        for (int i = 0; i < arguments.Length; i++)
        {
            bool memory = arguments[i] is HelperArgumentKind.ReadableMemory or HelperArgumentKind.WritableMemory;
            if (memory != (i + 1 < arguments.Length && arguments[i + 1] == HelperArgumentKind.MemorySize))
            {
                throw new ArgumentException($"argument {i + 1}: a memory argument must be followed by a {nameof(HelperArgumentKind.MemorySize)} argument, and only it", nameof(arguments));
            }
        }

        return new HelperSignature(ImmutableArray.Create(arguments), result);
    }

    /// <summary>A helper that takes <paramref name="count"/> numbers and returns a number.</summary>
    public static HelperSignature Numbers(int count) => Of(Enumerable.Repeat(HelperArgumentKind.Scalar, count).ToArray());
}
