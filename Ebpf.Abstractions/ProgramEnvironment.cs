using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf;

/// <summary>
/// Resolves an <c>lddw</c> with a pseudo source (map by fd or index, map value, variable or code address) to the
/// 64-bit value the destination register receives. Called once per such instruction when a program is compiled.
/// </summary>
/// <param name="source">The pseudo source (never <see cref="LddwSource.Immediate"/>).</param>
/// <param name="imm">The immediate of the first slot.</param>
/// <param name="nextImm">The immediate of the second slot.</param>
public delegate ulong LddwResolver(LddwSource source, int imm, int nextImm);

/// <summary>
/// What a program can reach besides its own memory: helpers, fixed memory regions (map values, ranges the user
/// allowed) and the resolver of pseudo <c>lddw</c> sources. Shared by the programs compiled with it; thread-safe.
/// </summary>
public sealed class ProgramEnvironment
{
    private readonly object gate = new();
    private MemoryRegion[] regions = GC.AllocateArray<MemoryRegion>(0, pinned: true);

    /// <summary>Creates an environment.</summary>
    /// <param name="helpers">The helper table; a new empty one when null.</param>
    public ProgramEnvironment(HelperTable? helpers = null)
    {
        Helpers = helpers ?? new HelperTable();
    }

    /// <summary>The helpers programs may call.</summary>
    public HelperTable Helpers { get; }

    /// <summary>Resolves pseudo <c>lddw</c> sources; null means only plain 64-bit immediates are accepted.</summary>
    public LddwResolver? LddwResolver { get; set; }

    /// <summary>
    /// Describes the maps <c>lddw</c> pseudo sources name (key and value sizes, read-only, global data), for the safety
    /// analysis (<see cref="Analysis.SafetyContext.For"/>); null means none are known.
    /// </summary>
    public Analysis.MapShapeResolver? MapShapes { get; set; }

    /// <summary>
    /// Extension state for components layered on top (maps, tail-call program arrays, ELF-loaded objects), by
    /// type or name. Not used by the engines.
    /// </summary>
    public IDictionary<string, object> Properties { get; } = new System.Collections.Concurrent.ConcurrentDictionary<string, object>();

    /// <summary>The fixed regions (a snapshot).</summary>
    public IReadOnlyList<MemoryRegion> Regions => Volatile.Read(ref regions);

    /// <summary>
    /// Adds a region programs may touch (e.g. a map's value storage or a range the user allows). The memory must stay
    /// at this address for as long as programs of this environment run.
    /// </summary>
    public void AddRegion(MemoryRegion region)
    {
        lock (gate)
        {
            var next = GC.AllocateArray<MemoryRegion>(regions.Length + 1, pinned: true);
            regions.CopyTo(next, 0);
            next[^1] = region;
            Volatile.Write(ref regions, next);
        }
    }

    /// <summary>Removes every region equal to <paramref name="region"/>; false if there was none.</summary>
    public bool RemoveRegion(MemoryRegion region)
    {
        lock (gate)
        {
            var kept = regions.Where(r => r != region).ToArray();
            if (kept.Length == regions.Length)
            {
                return false;
            }

            var next = GC.AllocateArray<MemoryRegion>(kept.Length, pinned: true);
            kept.CopyTo(next, 0);
            Volatile.Write(ref regions, next);
            return true;
        }
    }

    /// <summary>
    /// The current region table as a pinned array (never moved by the GC). Engines read it once per run and keep the
    /// array referenced while the run lasts.
    /// </summary>
    public MemoryRegion[] GetPinnedRegions() => Volatile.Read(ref regions);

    /// <summary>
    /// The value an <c>lddw</c> at <paramref name="pc"/> loads: its 64-bit immediate, a function pointer for the
    /// code-address source (<c>src=4</c>: a value naming the function, which helpers such as <c>bpf_loop</c> call back),
    /// or the resolver's answer for another pseudo source.
    /// </summary>
    /// <exception cref="EbpfCompilationException">A pseudo source with no resolver, or a resolver that failed.</exception>
    public ulong ResolveLddw(string engine, EbpfProgram program, int pc)
    {
        var lddw = program.Decoded[pc];
        var first = lddw.Raw;
        if (lddw.PseudoSource == LddwSource.Immediate)
        {
            return lddw.Value;
        }

        if (lddw.PseudoSource == LddwSource.CodeAddress)
        {
            // A function of the program itself: the engines resolve it, no resolver is involved.
            return Execution.FunctionPointer.Encode(program.FunctionIndexOf((int)ProgramAnalysis.CodeAddressTarget(pc, first)));
        }

        if (LddwResolver is not { } resolver)
        {
            throw new EbpfCompilationException(engine, pc, first, $"lddw pseudo source {first.Src} ({(LddwSource)first.Src}) needs an lddw resolver in the environment (e.g. maps loaded from an ELF object)");
        }

        try
        {
            return resolver(lddw.PseudoSource, first.Imm, (int)(lddw.Value >> 32));
        }
        catch (Exception e) when (e is not EbpfException)
        {
            throw new EbpfCompilationException(engine, pc, first, $"lddw pseudo source {first.Src} could not be resolved: {e.Message}");
        }
    }

    /// <summary>The helper a <c>call</c> at <paramref name="pc"/> names.</summary>
    /// <exception cref="EbpfUnknownHelperException">No helper has that id.</exception>
    public Helper ResolveHelper(string engine, EbpfProgram program, int pc)
    {
        var call = program.Instructions[pc];
        if (!Helpers.TryGet((uint)call.Imm, out var helper))
        {
            throw new EbpfUnknownHelperException(engine, pc, call, (uint)call.Imm);
        }

        return helper;
    }
}
