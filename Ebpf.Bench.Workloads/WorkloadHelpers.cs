using Ebpf.Helpers;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// The helpers the workloads call, registered by the benchmark host. Mirrors the functions of
/// <c>bench/native/inputs.c</c> that the native build calls instead.
/// </summary>
internal static class WorkloadHelpers
{
    /// <summary>The id <c>helper_calls</c> calls the trivial helper by.</summary>
    public const uint TrivialId = 1;

    /// <summary>The trivial helper: <c>a * 3 + b</c> (wrapping), two numbers in, a number out.</summary>
    public static ulong Trivial(ulong a, ulong b, ulong c, ulong d, ulong e) => unchecked((a * 3) + b);

    /// <summary>A fresh environment with the trivial helper (id <see cref="TrivialId"/>), its signature declared.</summary>
    public static ProgramEnvironment TrivialEnvironment()
    {
        var helpers = new HelperTable();
        helpers.Add(new Helper(TrivialId, "bench_trivial", Trivial) { Signature = HelperSignature.Numbers(2) });
        return new ProgramEnvironment(helpers);
    }
}
