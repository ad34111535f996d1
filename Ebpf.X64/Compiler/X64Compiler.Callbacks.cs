using Ebpf.X64.Runtime;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Callback entries: for each function a helper may call back (<see cref="EbpfProgram.IsCallback"/>), a second entry
/// into the code with the run's prologue, entered with a run block of its own (so an error inside the callback leaves
/// through the exit stub to this entry's saved stack pointer, never past the managed helper that called it).
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>
    /// Emits the entry of each callback function: r1-r5 from the block's helper arguments, r10 from its call frame (the
    /// top of the callback's frame), r0 and the named ones of r6-r9 zero (see <see cref="EmitEntry"/>), then a call to the function and the shared epilogue. Returns, by
    /// function index, the index of the entry's first instruction (-1 for other functions).
    /// </summary>
    private int[] EmitCallbackEntries()
    {
        var entries = new int[program.Functions.Length];
        for (int f = 0; f < entries.Length; f++)
        {
            if (!program.IsCallback(f))
            {
                entries[f] = -1;
                continue;
            }

            entries[f] = a.Instructions.Count;
            abi.EmitPrologue(a, written, callsOut);
            a.mov(Block(RunBlock.SavedRspOffset), rsp);
            foreach (int r in ArgumentRegisters)
            {
                a.mov(R64(r), Block(RunBlock.ArgsOffset + (8 * (r - 1))));
            }

            a.mov(R64(10), Block(RunBlock.CallFrameOffset));
            foreach (int r in (ReadOnlySpan<int>)[0, 6, 7, 8, 9])
            {
                // Only the named ones of r6-r9: the others are neither saved by the prologue nor ever read.
                if (r == 0 || named[r])
                {
                    a.xor(R32(r), R32(r));
                }
            }

            a.call(labels[program.Functions[f].Start]);
            a.jmp(epilogue);
        }

        return entries;
    }
}
