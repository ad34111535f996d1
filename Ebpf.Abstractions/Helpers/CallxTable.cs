using System.Collections.Frozen;

namespace Ebpf.Helpers;

/// <summary>
/// The helpers a <c>callx</c> can reach: a frozen copy of a helper table taken when a program is compiled (later changes
/// to the table do not affect it, as for <c>call imm</c>). Every engine resolves <c>callx</c> through it, so an unknown id
/// is the same run-time error everywhere.
/// </summary>
internal sealed class CallxTable
{
    private readonly FrozenDictionary<uint, Helper> byId;

    /// <summary>Copies <paramref name="helpers"/>.</summary>
    public CallxTable(HelperTable helpers)
    {
        ArgumentNullException.ThrowIfNull(helpers);
        byId = helpers.ToFrozenDictionary(h => h.Id);
    }

    /// <summary>The helper whose id a <c>callx</c> register holds.</summary>
    /// <param name="id">The register's value.</param>
    /// <param name="program">The running program (for the error message).</param>
    /// <param name="pc">The slot of the <c>callx</c>.</param>
    /// <exception cref="EbpfHelperException">No helper has that id (kind <see cref="RuntimeErrorKind.UnknownHelper"/>).</exception>
    public Helper Resolve(ulong id, EbpfProgram program, int pc) =>
        id <= uint.MaxValue && byId.TryGetValue((uint)id, out var helper)
            ? helper
            : throw new EbpfHelperException(pc, program.Instructions[pc], id);
}
