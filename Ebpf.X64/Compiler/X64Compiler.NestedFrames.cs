using Ebpf.X64.Runtime;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Leaving for the host from a local function (code with local calls whose helper calls return to the host, see
/// <see cref="HelperReturnAnalysis"/>). The native frames of the live local calls (each the caller's r6-r10 and a
/// return address into this code, at most <see cref="RunBlock.FrameRecordBytes"/> bytes: nothing that points into the native
/// stack, so they may live at another address) lie between the stack pointer and the entry's. At a leave the code moves
/// them to the run's frame save area, below the frames saved before (<see cref="RunBlock.FrameSave"/>, the outermost
/// call's frame at the area's end), and returns from the entry's stack pointer; the resume entry does not copy them back.
/// A local function returns through its native frame as usual unless that frame is saved (its r10 is at least
/// <see cref="RunBlock.FrameBoundary"/>, the r10 of the deepest function whose frame is saved): then it copies its frame
/// back below the stack pointer (the entry's: every deeper function has returned) and returns through it. So a loop of
/// helper calls in a local function copies its frames once, at its first call, and back once, at its return.
/// <para>Invariant: the saved frames are those of the outermost calls, 1 to m, and the native stack holds those of calls
/// m + 1 to the current depth d, m &lt;= d (a function at depth k &lt;= m runs only once the deeper ones have returned,
/// and the deepest saved one returns first through the area); a leave makes m = d.</para>
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>
    /// The registers a local call pushes, in order: r6-r9 and r10; in code that leaves for the host with frames live
    /// (<see cref="callInterval"/>), only the named ones of r6-r9, and r10. A register no instruction names holds the
    /// host's value for the whole run (the entry neither saves nor restores it): pushed into a frame that is saved and
    /// popped in a later entry from the host, it would hand the host's register of an earlier entry back to the host.
    /// (Such code calls nothing outside, so its stack needs no 16-byte alignment.)
    /// </summary>
    private int[] FrameRegisters => callInterval > 0 ? [.. SavedRegisters, 10] : [6, 7, 8, 9, 10];

    /// <summary>The bytes of a local call's native frame: <see cref="FrameRegisters"/> and the return address.</summary>
    private int FrameRecordBytes => 8 * (FrameRegisters.Length + 1);

    /// <summary>True when the code at <paramref name="pc"/> runs in a local-call frame (a local function, in code with
    /// local calls whose helper calls return to the host; never the entry function, which is never called).</summary>
    private bool IsNested(int pc) => callInterval > 0 && program.FunctionIndexOf(pc) != 0;

    /// <summary>
    /// At a leave from a local function (see <see cref="EmitLeaveForHost"/>): the native frames below the entry's stack
    /// pointer, if any, below the saved ones in the area (at most <see cref="RunBlock.MaxNestedFrames"/> in all: the
    /// call-depth check stops a deeper call), with r10 as the boundary, and the stack pointer back to the entry's.
    /// Afterwards the function's own frame is the deepest saved one, so the boundary is its r10 (set here, or already
    /// when no native frame was left), which the resume entry takes back (<see cref="EmitFramesResume"/>). Changes rcx,
    /// rdx and r11.
    /// </summary>
    private void EmitFramesOut()
    {
        var done = a.CreateLabel();
        a.cmp(rsp, Block(RunBlock.SavedRspOffset));
        a.je(done);
        a.mov(rcx, Block(RunBlock.SavedRspOffset));
        a.sub(rcx, rsp);
        a.mov(rdx, Block(RunBlock.FrameSaveOffset));
        a.sub(rdx, rcx);
        a.mov(Block(RunBlock.FrameSaveOffset), rdx);
        a.mov(Block(RunBlock.FrameBoundaryOffset), R64(10));

        // rcx bytes (a positive multiple of 8) from the stack pointer up to the area, 8 bytes a round from the last.
        var copy = a.CreateLabel();
        Bind(ref copy);
        a.mov(r11, __qword_ptr[rsp + rcx - 8]);
        a.mov(__qword_ptr[rdx + rcx - 8], r11);
        a.sub(rcx, 8);
        a.jne(copy);
        a.mov(rsp, Block(RunBlock.SavedRspOffset));
        Bind(ref done);
    }

    /// <summary>In the resume entry of a leave from a local function: r10, the boundary the leave left (see
    /// <see cref="EmitFramesOut"/>).</summary>
    private void EmitFramesResume() => a.mov(R64(10), Block(RunBlock.FrameBoundaryOffset));

    /// <summary>
    /// The exit of a local function (see the class): a return, or, when its frame is saved (r10 at least the boundary:
    /// it is the deepest saved frame and the stack pointer is the entry's), its frame copied back from the area's low end
    /// below the stack pointer, the area's low end and the boundary one frame up, and the return. Changes rcx, rdx and r11.
    /// </summary>
    private void EmitNestedReturn()
    {
        var saved = a.CreateLabel();
        a.cmp(R64(10), Block(RunBlock.FrameBoundaryOffset));
        a.jae(saved);
        a.ret();
        cold.Add(() =>
        {
            Bind(ref saved);
            int bytes = FrameRecordBytes;
            a.mov(rdx, Block(RunBlock.FrameSaveOffset));
            a.sub(rsp, bytes);
            for (int offset = 0; offset < bytes; offset += 8)
            {
                a.mov(rcx, __qword_ptr[rdx + offset]);
                a.mov(__qword_ptr[rsp + offset], rcx);
            }

            a.add(rdx, bytes);
            a.mov(Block(RunBlock.FrameSaveOffset), rdx);
            a.lea(rcx, __qword_ptr[R64(10) + stackSize]);
            a.mov(Block(RunBlock.FrameBoundaryOffset), rcx);
            a.ret();
        });
    }
}
