using Ebpf.Isa;

namespace Ebpf.Helpers;

/// <summary>
/// Finds the helper calls an engine may compile as an inline array lookup (see <see cref="Helper.InlineLookup"/>): a
/// <c>call</c> whose r1 comes from an <c>lddw</c> of a map (pseudo source map by fd or by index) earlier in the same
/// straight line of code, with no jump landing between them and nothing in between that writes r1 or can leave the
/// line, and whose helper gives an <see cref="ArrayLookup"/> for that map; and, the same way, the calls an engine may
/// make straight to the map's lookup (<see cref="Helper.DirectLookup"/>).
/// </summary>
internal static class InlineLookupSite
{
    /// <summary>The inline lookup of the helper call at <paramref name="pc"/>, or null when it must be called.</summary>
    /// <exception cref="EbpfCompilationException">The map's <c>lddw</c> cannot be resolved.</exception>
    public static ArrayLookup? Find(EbpfProgram program, ProgramEnvironment environment, Helper helper, int pc, string engine)
    {
        if (helper.InlineLookup is not { } inline || program.Decoded[pc].Operation != Operation.CallHelper)
        {
            return null;
        }

        int load = MapLoadBefore(program, pc, 1);
        return load < 0 ? null : inline(environment, environment.ResolveLddw(engine, program, load));
    }

    /// <summary>
    /// The lookup the helper call at <paramref name="pc"/> may call directly (<see cref="Helper.DirectLookup"/>), or null
    /// when the helper must be called. An engine asks for it only where it does not compile the call inline.
    /// </summary>
    /// <exception cref="EbpfCompilationException">The map's <c>lddw</c> cannot be resolved.</exception>
    public static DirectLookup? FindDirect(EbpfProgram program, ProgramEnvironment environment, Helper helper, int pc, string engine)
    {
        if (helper.DirectLookup is not { } direct || program.Decoded[pc].Operation != Operation.CallHelper)
        {
            return null;
        }

        int load = MapLoadBefore(program, pc, 1);
        return load < 0 ? null : direct(environment, environment.ResolveLddw(engine, program, load));
    }

    /// <summary>
    /// The program array a <c>bpf_tail_call</c> at <paramref name="pc"/> goes through, for an engine that enters the
    /// target itself (<see cref="Helper.TailCallTargets"/>): found as the lookups' maps are, from an <c>lddw</c> of r2.
    /// Null when the helper must be called.
    /// </summary>
    /// <exception cref="EbpfCompilationException">The map's <c>lddw</c> cannot be resolved.</exception>
    public static TailCallTargets? FindTailCall(EbpfProgram program, ProgramEnvironment environment, Helper helper, int pc, string engine)
    {
        if (helper.TailCallTargets is not { } targets || program.Decoded[pc].Operation != Operation.CallHelper)
        {
            return null;
        }

        int load = MapLoadBefore(program, pc, 2);
        return load < 0 ? null : targets(environment, environment.ResolveLddw(engine, program, load));
    }

    /// <summary>
    /// The slot of the <c>lddw rN, map</c> (N = <paramref name="register"/>) whose value rN surely holds at
    /// <paramref name="pc"/>, or -1.
    /// </summary>
    private static int MapLoadBefore(EbpfProgram program, int pc, int register)
    {
        if (program.IsJumpTarget(pc))
        {
            return -1;
        }

        var code = program.Decoded;
        int start = program.Functions[program.FunctionIndexOf(pc)].Start;
        for (int at = pc - 1; at >= start; at--)
        {
            if (program.IsSecondSlot(at))
            {
                continue;
            }

            var insn = code[at];
            if (insn.WrittenRegister == register)
            {
                return insn.Operation == Operation.Lddw && insn.PseudoSource is LddwSource.MapByFd or LddwSource.MapByIndex ? at : -1;
            }

            bool staysInLine = insn.Operation is >= Operation.Add and <= Operation.Bswap64 or Operation.Lddw
                or Operation.Load or Operation.LoadSignExtend or Operation.Store;
            if (!staysInLine || program.IsJumpTarget(at))
            {
                return -1;
            }
        }

        return -1;
    }
}
