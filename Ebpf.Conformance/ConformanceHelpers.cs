using Ebpf.Helpers;

namespace Ebpf.Conformance;

/// <summary>
/// The helpers the bpf_conformance suite's programs call (the set uBPF's test plugin registers): 0 <c>gather_bytes</c>,
/// 1 <c>memfrob</c>, 2 <c>no_op</c>, 3 <c>sqrti</c>, 4 <c>strcmp_ext</c>, 5 <c>unwind</c>.
/// </summary>
public static class ConformanceHelpers
{
    /// <summary>The id of <c>gather_bytes</c>.</summary>
    public const uint GatherBytesId = 0;

    /// <summary>The id of <c>memfrob</c>.</summary>
    public const uint MemfrobId = 1;

    /// <summary>The id of <c>no_op</c>.</summary>
    public const uint NoOpId = 2;

    /// <summary>The id of <c>sqrti</c>.</summary>
    public const uint SqrtiId = 3;

    /// <summary>The id of <c>strcmp_ext</c>.</summary>
    public const uint StrcmpExtId = 4;

    /// <summary>The id of <c>unwind</c>.</summary>
    public const uint UnwindId = 5;

    /// <summary>Registers (replacing) the six helpers in <paramref name="table"/>.</summary>
    public static HelperTable Register(HelperTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table
            .Set(RbpfHelpers.GatherBytes(GatherBytesId))
            .Set(RbpfHelpers.Memfrob(MemfrobId))
            .Set(new Helper(NoOpId, "no_op", (_, _, _, _, _) => 0) { Signature = HelperSignature.NoArguments })
            .Set(RbpfHelpers.Sqrti(SqrtiId))
            .Set(new Helper(StrcmpExtId, "strcmp_ext", StrcmpExt) { Signature = RbpfHelpers.StrcmpSignature })
            .Set(new Helper(UnwindId, "unwind", Unwind) { Signature = HelperSignature.Numbers(1) });
    }

    /// <summary>A new table holding the six helpers.</summary>
    public static HelperTable CreateTable() => Register(new HelperTable());

    /// <summary>C's <c>strcmp</c>: the signed difference of the first differing bytes (sign-extended to 64 bits), 0 when equal.</summary>
    private static ulong StrcmpExt(HelperContext context, ulong a, ulong b, ulong a3, ulong a4, ulong a5)
    {
        var (x, y) = RbpfHelpers.FirstDifference(context, a, b);
        return (ulong)(long)(x - y);
    }

    /// <summary>Returns its first argument; when that is 0 the whole run ends with r0 = 0.</summary>
    private static ulong Unwind(HelperContext context, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        if (a1 == 0)
        {
            context.Stop(0);
        }

        return a1;
    }
}
