using Ebpf.Isa;

namespace Ebpf.Execution;

/// <summary>
/// Which code is brief: straight-line code without calls (no helper call, no <c>callx</c>, no local call, no backward
/// jump) of at most <see cref="MaxSlots"/> slots. Every run of it executes at most as many instructions as it has slots
/// and runs no code but its own (no helper, so no host code, no nested run, no tail call, no callback), so it ends in
/// microseconds whatever its input. The engines use it twice: x64 enters such code without the GC-mode transition, and
/// a plain run of such a program on an engine without run leases writes no watch word (see
/// <see cref="CompiledProgram"/>: nothing could stop it that it does not outrun by a few microseconds at most).
/// </summary>
internal static class BriefCode
{
    /// <summary>The longest program (in slots) that counts as brief (a few microseconds of straight-line code).</summary>
    public const int MaxSlots = 4096;

    /// <summary>
    /// True when some jump in slots <paramref name="start"/> to <paramref name="end"/> (exclusive) of
    /// <paramref name="program"/> goes back to its own slot or before it: the slots may loop.
    /// </summary>
    public static bool HasBackwardJump(EbpfProgram program, int start, int end)
    {
        ArgumentNullException.ThrowIfNull(program);
        var code = program.Decoded;
        for (int pc = start; pc < end; pc += code[pc].Length)
        {
            if (code[pc].IsJump && code[pc].Target <= pc)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the whole of <paramref name="program"/> is brief.</summary>
    public static bool IsBrief(EbpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return IsBrief(program, new FunctionInfo(0, program.Length));
    }

    /// <summary>True when the slots of <paramref name="function"/> are brief (as a callback: see <see cref="BriefCode"/>).</summary>
    public static bool IsBrief(EbpfProgram program, FunctionInfo function)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (function.Length > MaxSlots)
        {
            return false;
        }

        var code = program.Decoded;
        for (int pc = function.Start; pc < function.End; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal
                || (insn.IsJump && insn.Target <= pc))
            {
                return false;
            }
        }

        return true;
    }
}
