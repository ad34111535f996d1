using Ebpf.Isa;

namespace Ebpf.Execution;

/// <summary>
/// How many bytes at the top of the stack area a run of a program can write: the bytes a run must zero when it ends so
/// that the next run on the same stack area reads zeros wherever it reads (see <see cref="RunStack"/>). Reads do not
/// matter: a run starts on an all-zero area, so whatever it reads it either wrote itself or is zero.
/// </summary>
internal static class StackFootprint
{
    /// <summary>
    /// The bytes below r10 of the entry function that a run of <paramref name="program"/> can write under
    /// <paramref name="options"/>:
    /// <list type="bullet">
    /// <item>the deepest <c>r10 + offset</c> store or atomic, when the program has no local call and no helper call, and
    /// uses r10 only as the base of loads, stores and atomics with a constant offset inside the frame (no other
    /// instruction can then write to the stack: every other base register holds a value that does not come from r10,
    /// and a memory check refuses it or, unchecked, the program is trusted not to forge one);</item>
    /// <item>one frame (<see cref="ExecutionOptions.StackSize"/>) for any other program with no local call and no
    /// <c>callx</c> whose memory checks are on, and, if it calls helpers, whose helper argument checks are on and whose
    /// helpers all receive the <c>HelperContext</c> (they reach memory through its checked accessors, which allow the
    /// calling frame and no deeper one; an rbpf-style helper gets raw addresses);</item>
    /// <item>the whole stack area (frame size times call depth) otherwise (also for a program with callbacks, which run
    /// in frames of their own).</item>
    /// </list>
    /// </summary>
    public static int DirtyBytes(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        int whole = options.StackSize * options.MaxCallDepth;
        bool checkedHelpers = options.MemoryChecks && options.HelperArgumentChecks;
        bool bounded = true;
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
                    if (!checkedHelpers || !environment.Helpers.TryGet((uint)insn.Imm, out var helper) || helper.Simple is not null)
                    {
                        // An rbpf-style helper gets raw addresses: nothing bounds where it writes.
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
            return deepest;
        }

        return options.MemoryChecks ? options.StackSize : whole;
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
