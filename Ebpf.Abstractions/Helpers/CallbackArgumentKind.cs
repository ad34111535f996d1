namespace Ebpf.Helpers;

/// <summary>
/// What a helper that calls back (<see cref="HelperSignature.CallsBack"/>) passes its callback in one register (r1-r5),
/// for the safety analysis, which follows the callback from the helper call with these values (see
/// <see cref="HelperSignature.CallbackArguments"/>).
/// </summary>
public enum CallbackArgumentKind : byte
{
    /// <summary>Zero (the registers after the listed ones are zero too).</summary>
    Zero,
    /// <summary>Any number.</summary>
    Number,
    /// <summary>An iteration index: a number below 2^23 (<c>bpf_loop</c>'s most iterations).</summary>
    LoopIndex,
    /// <summary>What the helper received in r3 (the callback context of <c>bpf_loop</c> and <c>bpf_for_each_map_elem</c>).</summary>
    HelperArgument3,
    /// <summary>The map the helper received (its <see cref="HelperArgumentKind.MapPointer"/> argument).</summary>
    Map,
    /// <summary>A pointer to a read-only key of that map.</summary>
    MapKey,
    /// <summary>A pointer to a value of that map.</summary>
    MapValue,
}
