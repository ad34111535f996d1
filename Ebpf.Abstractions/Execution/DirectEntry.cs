using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Execution;

/// <summary>
/// Which programs get a direct entry (<see cref="CompiledProgram"/>'s run without a run state): code an engine can run
/// with r1 and r2 as arguments and r0 as its result, because nothing in it reaches anything else of a run. A program
/// qualifies when
/// <list type="bullet">
/// <item>it is brief (<see cref="BriefCode"/>: straight-line, no helper, <c>callx</c> or local call, at most
/// <see cref="BriefCode.MaxSlots"/> slots), so nothing polls it for a stop and no host code runs inside it;</item>
/// <item>r10 is named only as the base register of loads, stores and atomics at a constant offset inside the frame,
/// the deepest of which is at most <see cref="MaxFrameBytes"/> below r10 (no instruction names r10 in the simplest
/// case): the program never holds a pointer to the stack, so its frame can be a fresh, zeroed block of
/// <see cref="FrameBytes"/> bytes of its own that the engine's direct code allocates for the run and drops with it
/// (<c>localloc</c> on il, the native stack on x64). A direct run uses no stack area, so there is nothing to lend and
/// nothing to clear (a plain run still clears what its footprint says it could have written), and since nothing but
/// the program can reach that block and it starts zeroed, a run sees what the plain run would: its own stores, and
/// zeros where it has not written;</item>
/// <item>every <c>lddw</c> loads a plain 64-bit immediate (no map, global data or code address) and it has no legacy
/// packet load (<c>ldabs</c>/<c>ldind</c>, which read the input outside the register model);</item>
/// <item>its instruction budget, if any, is at least its length in slots (the budget can never run out);</item>
/// <item>its options set no <see cref="ExecutionOptions.Timeout"/> and no <see cref="ExecutionOptions.EntryContext"/>.</item>
/// </list>
/// A run takes the direct entry only when, besides, it has no metadata (r1 is then the input), the environment has no
/// memory regions at that moment (so the input is the only memory the program can reach: a run with regions, which a
/// program may reach through an integer address, takes the plain path), no token can cancel it and nobody listens to
/// the run metrics. Its accesses are then proven by the safety analysis or checked inline against <c>[r1, r1 + r2)</c>,
/// and a failed check throws the same <see cref="EbpfMemoryAccessException"/> (pc and message) as the plain run.
/// </summary>
internal static class DirectEntry
{
    /// <summary>True when <paramref name="program"/>, compiled with <paramref name="options"/>, qualifies (see <see cref="DirectEntry"/>).</summary>
    public static bool Qualifies(EbpfProgram program, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Timeout is not null || options.EntryContext is not null
            || (options.InstructionBudget is { } budget && budget < program.Length) || !BriefCode.IsBrief(program))
        {
            return false;
        }

        return FrameOf(program, options) is not null;
    }

    /// <summary>The deepest frame a direct entry gives a program (see <see cref="DirectEntry"/>): 512 bytes, the default frame.</summary>
    public const int MaxFrameBytes = 512;

    /// <summary>
    /// The bytes of frame a direct run of <paramref name="program"/> needs (see <see cref="DirectEntry"/>): the deepest
    /// access through r10, rounded up to whole 8-byte words, when r10 is named only as the base register of loads,
    /// stores and atomics at a constant offset inside the frame of <paramref name="options"/> no deeper than
    /// <see cref="MaxFrameBytes"/>, and the program reaches nothing else but its registers and the input (as
    /// <see cref="Qualifies"/> asks); 0 when it names no r10 or does not qualify so.
    /// </summary>
    public static int FrameBytes(EbpfProgram program, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(options);
        return FrameOf(program, options) ?? 0;
    }

    /// <summary>
    /// True when <paramref name="insn"/> names r10 only as the base register of a load, store or atomic at a constant
    /// offset inside a frame of <paramref name="stackSize"/> bytes (see <see cref="AnalysisResults.IsOwnFrameAccess(in DecodedInstruction, int)"/>)
    /// no deeper than <see cref="MaxFrameBytes"/>: its other register field (the loaded register, the stored value, an
    /// unused field) does not name r10. The one rule of a direct run's frame, which the fuzzer's generator of such
    /// programs applies too.
    /// </summary>
    internal static bool IsFrameAccess(in DecodedInstruction insn, int stackSize) =>
        insn.IsMemoryAccess && (insn.BaseRegister == insn.Src ? insn.Dst : insn.Src) != 10
        && AnalysisResults.IsOwnFrameAccess(insn, stackSize) && -insn.Offset <= MaxFrameBytes;

    /// <summary>
    /// What the direct entry asks of a program's instructions under <paramref name="options"/> (see
    /// <see cref="DirectEntry"/>): null when one loads a map, global data or code address with <c>lddw</c>, reads the
    /// packet with the legacy loads, or names r10 other than as a frame base (<see cref="IsFrameAccess"/>); otherwise the
    /// bytes of frame a run needs, the deepest access through r10 in whole 8-byte words (0 when none names r10, so that
    /// the registers and the input are all the program reaches).
    /// </summary>
    private static int? FrameOf(EbpfProgram program, ExecutionOptions options)
    {
        int deepest = 0;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.IsPacketLoad || (insn.Operation == Operation.Lddw && insn.PseudoSource != LddwSource.Immediate))
            {
                return null;
            }

            if (insn.Dst != 10 && (insn.Operation == Operation.Lddw || insn.Src != 10))
            {
                continue;
            }

            if (!IsFrameAccess(insn, options.StackSize))
            {
                return null;
            }

            deepest = Math.Max(deepest, -insn.Offset);
        }

        return (deepest + 7) & ~7;
    }

    /// <summary>
    /// True when <paramref name="program"/>, compiled with <paramref name="options"/>, qualifies for the restartable
    /// direct entry of an engine that has one (il): a program with loops that, like a brief one, reaches nothing but
    /// its registers and the input (see <see cref="Qualifies"/>: no r10, no map or code address, no legacy packet
    /// load) and besides
    /// <list type="bullet">
    /// <item>is one function that calls nothing (no helper, <c>callx</c> or local call) and is not brief (a brief
    /// program takes the plain direct entry);</item>
    /// <item>writes no memory at all (no store, no atomic), so a run cut short leaves nothing behind: what it did is
    /// only in its registers;</item>
    /// <item>has no <see cref="ExecutionOptions.InstructionBudget"/>, no <see cref="ExecutionOptions.Timeout"/> and
    /// no <see cref="ExecutionOptions.EntryContext"/>.</item>
    /// </list>
    /// Nothing watches a direct run, so such an entry counts the backward jumps it takes and gives up after
    /// <see cref="LoopSteps"/> of them (microseconds): the run then starts again from the first instruction on the
    /// plain path (<c>CompiledProgram.RestartDirect</c>), which the watchdog, the budget and the rest of the run
    /// machinery see from its start. Since the attempt wrote nothing, the plain run computes what it would have
    /// computed from the start; a memory violation the attempt meets first is the plain run's error at the same pc.
    /// </summary>
    public static bool QualifiesWithLoops(EbpfProgram program, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Timeout is not null || options.EntryContext is not null || options.InstructionBudget is not null
            || program.Functions.Length != 1 || program.IsCallback(0) || BriefCode.IsBrief(program))
        {
            return false;
        }

        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal
                || insn.IsAtomic || insn.Operation == Operation.Store)
            {
                return false;
            }
        }

        return FrameOf(program, options) == 0;
    }

    /// <summary>
    /// The backward jumps a restartable direct entry (see <see cref="QualifiesWithLoops"/>) takes before it gives up
    /// and the run starts again on the plain path: the entry is for short loops (a packet's headers, a short string),
    /// for which the plain run's set-up (10-20 ns) is most of the run. A longer run gains little from it and loses the
    /// plain code's loop guards and its attempt (measured: il's `checksum`, about 750 rounds, 10% slower through the
    /// entry with 1,024; x64's `log2`, 1,024 rounds, 1% slower from the attempts), so the count is small, and a run
    /// that has not ended by then is watched from within a microsecond of its start.
    /// </summary>
    public const int LoopSteps = 128;
}
