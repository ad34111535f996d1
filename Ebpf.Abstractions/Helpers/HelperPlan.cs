using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf.Helpers;

/// <summary>
/// The helpers a program calls in a given environment, resolved once when it is compiled and shared by every engine:
/// one slot per distinct helper (in the order of the first call), the slot of each <c>call imm</c>, which call sites
/// may end the run early (helpers that receive the context, and <c>callx</c>), and the <see cref="CallxTable"/> when
/// the program has a <c>callx</c>.
/// </summary>
internal sealed class HelperPlan
{
    private readonly Dictionary<int, int> slotOfCall;

    private HelperPlan(ImmutableArray<Helper> helpers, Dictionary<int, int> slotOfCall, CallxTable? callx)
    {
        Helpers = helpers;
        this.slotOfCall = slotOfCall;
        Callx = callx;
        AnyMayStop = callx is not null || helpers.Any(h => h.Simple is null);
    }

    /// <summary>The distinct helpers the program's <c>call imm</c> instructions name, by slot.</summary>
    public ImmutableArray<Helper> Helpers { get; }

    /// <summary>The helpers a <c>callx</c> can reach (a snapshot of the environment's table), or null when the program has no <c>callx</c>.</summary>
    public CallxTable? Callx { get; }

    /// <summary>True when some call may end the run early (a context helper or a <c>callx</c>), so callers of local functions must check.</summary>
    public bool AnyMayStop { get; }

    /// <summary>The slot in <see cref="Helpers"/> of the helper the <c>call imm</c> at <paramref name="pc"/> calls.</summary>
    public int SlotOf(int pc) => slotOfCall[pc];

    /// <summary>True when the call at <paramref name="pc"/> may end the run early: <c>callx</c>, or a helper that receives the context.</summary>
    public bool MayStop(EbpfProgram program, int pc) =>
        program.Decoded[pc].Operation == Operation.CallX || (slotOfCall.TryGetValue(pc, out int slot) && Helpers[slot].Simple is null);

    /// <summary>Resolves the helpers of <paramref name="program"/> in <paramref name="environment"/>.</summary>
    /// <param name="program">The program.</param>
    /// <param name="environment">Where the helpers come from.</param>
    /// <param name="engine">The compiling engine's name (for the error).</param>
    /// <exception cref="EbpfUnknownHelperException">A <c>call imm</c> names an id the environment lacks.</exception>
    /// <exception cref="EbpfCompilationException">An <c>lddw</c> before the first such call cannot be resolved.</exception>
    public static HelperPlan Create(EbpfProgram program, ProgramEnvironment environment, string engine)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        var helpers = ImmutableArray.CreateBuilder<Helper>();
        var slotOfHelper = new Dictionary<Helper, int>(ReferenceEqualityComparer.Instance);
        var slotOfCall = new Dictionary<int, int>();
        bool hasCallx = false;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc++)
        {
            switch (code[pc].Operation)
            {
                case Operation.CallX:
                    hasCallx = true;
                    break;
                case Operation.Lddw:
                    // Resolved again when the engine emits it; checked here too so that the first unresolvable
                    // instruction in program order is the one reported (found by the differential fuzz target).
                    environment.ResolveLddw(engine, program, pc);
                    break;
                case Operation.CallHelper:
                    var helper = environment.ResolveHelper(engine, program, pc);
                    if (!slotOfHelper.TryGetValue(helper, out int slot))
                    {
                        slot = helpers.Count;
                        helpers.Add(helper);
                        slotOfHelper.Add(helper, slot);
                    }

                    slotOfCall.Add(pc, slot);
                    break;
            }
        }

        return new HelperPlan(helpers.ToImmutable(), slotOfCall, hasCallx ? new CallxTable(environment.Helpers) : null);
    }
}
