using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Il.Runtime;

namespace Ebpf.Il;

/// <summary>
/// <c>bpf_loop</c>'s loop on IL (see <see cref="CompiledProgram.RunCallbackLoop"/>): the callback's compiled method and
/// its frame depth found once, then the method called directly once per index.
/// </summary>
public sealed unsafe partial class IlCompiledProgram
{
    /// <inheritdoc />
    /// <remarks>Each call gets a register frame of its own (r1 the index, r2 the data, r10 the frame top, the others zero), as <see cref="ExecuteCallback"/> gives it.</remarks>
    private protected override ulong ExecuteCallbackLoop(ref RunState state, int function, ulong frameTop, uint count, ulong data, int pc)
    {
        int depth = 1 + (int)((state.StackEnd - frameTop) / (ulong)Options.StackSize);
        var callee = ((IlClosure)EntryFor(ref state).Target!).Functions[function];
        var run = (RunState*)Unsafe.AsPointer(ref state);
        for (uint i = 0; i < count; i++)
        {
            ThrowIfCancelRequested(Program, ref state, pc);
            CallFrame frame = default;
            frame.R1 = i;
            frame.R2 = data;
            frame.R10 = frameTop;
            ulong r0 = callsHelpersDirectly ? Call(ref state, callee, &frame, depth) : callee(run, &frame, depth);
            if (LoopEnds(ref state, r0, i, out ulong result))
            {
                return result;
            }
        }

        return count;
    }
}
