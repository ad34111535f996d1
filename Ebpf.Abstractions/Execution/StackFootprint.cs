using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Execution;

/// <summary>
/// How many bytes at the top of the stack area a run of a program can write, in whole 8-byte words: the bytes a run must
/// zero when it ends so that the next run on the same stack area reads zeros wherever it reads (see <see cref="RunStack"/>). Reads do not
/// matter: a run starts on an all-zero area, so whatever it reads it either wrote itself or is zero.
/// </summary>
internal static class StackFootprint
{
    /// <summary>
    /// The bytes below r10 of the entry function that a run of <paramref name="program"/> can write under
    /// <paramref name="options"/>:
    /// <list type="bullet">
    /// <item>the deepest <c>r10 + offset</c> store or atomic, when the program has no local call, calls no helper but
    /// rbpf-style ones, and uses r10 only as the base of loads, stores and atomics with a constant offset inside the
    /// frame (no other instruction can then write to the stack: every other base register holds a value that does not
    /// come from r10, and a memory check refuses it or, unchecked, the program is trusted not to forge one; an
    /// rbpf-style helper is trusted with its raw arguments, as the host's own code, and none of them comes from r10);</item>
    /// <item>otherwise, for a program with no local call, no <c>callx</c> and no callback whose memory checks are on
    /// (and, if it calls helpers, whose helper argument checks are on and whose helpers all receive the
    /// <c>HelperContext</c>), the bound the safety analysis proves when the compilation analyses the program and uses
    /// the proof (<see cref="CheckPlan.UsesProof"/>, not inside <see cref="CheckPlan.ForceChecks"/>, no error): see
    /// <see cref="ProvenBytes"/>;</item>
    /// <item>else one frame (<see cref="ExecutionOptions.StackSize"/>) for such a checked program (the helpers reach
    /// memory through the context's checked accessors, which allow the calling frame and no deeper one; an rbpf-style
    /// helper gets raw addresses);</item>
    /// <item>the whole stack area (frame size times call depth) otherwise: also for a program with callbacks, which run
    /// in frames of their own, and for one that passes (or could pass) a frame address to an rbpf-style helper, which
    /// could write anywhere from it.</item>
    /// </list>
    /// The analysis made here is handed on (<see cref="AnalysisResults.HandOn"/>) to the compilation's
    /// <see cref="CheckPlan"/>, which then does not analyse the program again.
    /// </summary>
    public static int DirtyBytes(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        int whole = options.StackSize * options.MaxCallDepth;
        bool checkedHelpers = options.MemoryChecks && options.HelperArgumentChecks;
        bool bounded = true;
        bool rawHelpers = false;
        int deepest = 0;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            switch (insn.Operation)
            {
                case Operation.CallLocal or Operation.CallX:
                    return whole;
                case Operation.Lddw when insn.PseudoSource == LddwSource.CodeAddress:
                    // A callback runs in frames below the caller's, as a local call does.
                    return whole;
                case Operation.CallHelper:
                    if (!environment.Helpers.TryGet((uint)insn.Imm, out var helper))
                    {
                        return whole;
                    }

                    if (helper.Simple is not null)
                    {
                        // An rbpf-style helper gets raw values and writes only where they point (it is trusted with its
                        // arguments, as the host's own code): into the stack only through a value that comes from r10.
                        rawHelpers = true;
                        continue;
                    }

                    if (!checkedHelpers)
                    {
                        return whole;
                    }

                    bounded = false;
                    continue;
            }

            bool writes = insn.Operation == Operation.Store || insn.IsAtomic;
            if (UsesR10AsValue(insn))
            {
                bounded = false;
            }
            else if (writes && insn.BaseRegister == 10)
            {
                if (insn.Offset + insn.AccessSize > 0 || insn.Offset < -options.StackSize)
                {
                    // Outside the frame: a memory check refuses it; unchecked, nothing bounds it.
                    bounded &= options.MemoryChecks;
                }
                else
                {
                    deepest = Math.Max(deepest, -insn.Offset);
                }
            }
            else if (writes)
            {
                bounded = false;
            }
        }

        if (bounded)
        {
            return WholeWords(deepest);
        }

        if (rawHelpers || !options.MemoryChecks)
        {
            return whole;
        }

        if (!CheckPlan.UsesProof(program, options) || CheckPlan.ChecksForced)
        {
            return options.StackSize;
        }

        var context = SafetyContext.For(environment, options, options.EntryContext);
        var analysis = program.Analysis.Safety(context);
        program.Analysis.HandOn(context, analysis);
        return ProvenBytes(program, analysis, options) is { } proven ? WholeWords(proven) : options.StackSize;
    }

    /// <summary>
    /// <paramref name="bytes"/> rounded up to whole 8-byte words: a run clears its footprint a word at a time (the x64
    /// tail entry has no byte loop to run for a 4-byte key), and zeroing bytes a run could not have written changes
    /// nothing, since they are zero already. Stays inside the frame, whose size is a multiple of 8.
    /// </summary>
    private static int WholeWords(int bytes) => (bytes + 7) & ~7;

    /// <summary>
    /// The bytes below the entry function's r10 that <paramref name="analysis"/> (of <paramref name="program"/>, which
    /// has no local call and no callback, under the options' frame size and entry context) proves a run can write: the
    /// deepest first byte of every store or atomic proven into the stack (the entry frame: there is no other) and of
    /// every write a helper's signature describes (<see cref="SafetyAnalysis.HelperStackWriteBytes"/>); a store proven
    /// into another region the compilation trusts (<see cref="CheckPlan.Trusted"/>) writes no stack byte. Null when the
    /// analysis has an error (paths behind it are not followed), a store or atomic that is reachable and not proven (its
    /// run-time check lets it land in any frame), or a helper write it cannot place. Reads do not matter.
    /// </summary>
    private static int? ProvenBytes(EbpfProgram program, SafetyAnalysis analysis, ExecutionOptions options)
    {
        if (!analysis.IsSafe || analysis.HelperStackWriteBytes is not { } deepest)
        {
            return null;
        }

        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.Operation != Operation.Store && !insn.IsAtomic)
            {
                continue;
            }

            var proof = analysis.Access(pc);
            if (proof.Outcome == AccessOutcome.Unreachable)
            {
                continue;
            }

            if (proof.Outcome != AccessOutcome.Proven || !CheckPlan.Trusted(proof.Region, options.EntryContext))
            {
                return null;
            }

            if (proof.Region == ValueKind.Stack)
            {
                deepest = (int)Math.Max(deepest, -proof.MinOffset);
            }
        }

        return Math.Min(deepest, options.StackSize);
    }

    /// <summary>
    /// True when the instruction names r10 other than as the base register of a load, store or atomic (conservatively:
    /// an unused source field that says r10 counts too).
    /// </summary>
    private static bool UsesR10AsValue(DecodedInstruction insn) => insn.Operation switch
    {
        Operation.Lddw or Operation.Exit or Operation.Ja or Operation.Ja32 or Operation.CallHelper or Operation.CallLocal
            or Operation.LoadAbsolute => false,
        Operation.Load or Operation.LoadSignExtend => insn.Dst == 10,
        Operation.Store => insn.Src == 10,
        _ when insn.IsAtomic => insn.Src == 10,
        _ => insn.Dst == 10 || insn.Src == 10,
    };
}
