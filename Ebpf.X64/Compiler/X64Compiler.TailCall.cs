using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Runtime;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// <c>bpf_tail_call</c> as a jump in machine code. At a call whose program array the compiler knows (an <c>lddw</c> of
/// r2 right before it, <see cref="InlineLookupSite.FindTailCall"/>), in code whose helper calls return to the host, the
/// code makes the helper's checks itself: the index below the array's capacity, fewer than
/// the array's limit of tail calls so far (<see cref="TailCallTargets.Limit"/>), the slot's word in the array's table of entries
/// (<see cref="TailCallTargets.Table"/>: 0 empty, else a program the helper must enter, or the descriptor of an x64
/// program the code can enter), the target not disposed and compiled for the same environment and options (its
/// descriptor's key), the run on a thread's own run state, no callback, no pending tail call and no stop request. An
/// empty slot, an index out of range, the limit or a disposed target falls through in the code (r0 = -ENOENT, as the
/// helper returns); a target the code can enter is entered by a jump: the tail-call count goes up, the block names the
/// target (<see cref="RunBlock.Program"/>), the caller's frame is undone and the code jumps to the target's tail entry
/// (<see cref="EmitTailEntry"/>), which clears the stack the run could have written so far and continues as the target's
/// own entry. Anything else leaves for the host as a tail-call exit (<see cref="TailCallExit"/>), where the helper
/// loop enters the target nested or calls the helper, as before.
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>The site value a tail-call site leaves for the host with (<see cref="CodeExit.Site"/>): the site index
    /// itself is in <see cref="RunBlock.TailSite"/>, since the code may be a target entered by a jump, whose site indices
    /// are not the entry program's.</summary>
    internal const int TailCallExit = -2;

    /// <summary>The descriptor of a program that a tail call can enter by a jump (native memory, see
    /// <see cref="CompiledProgram.TailCallDescriptor"/>): its tail entry, its run block handle, its key, its disposed flag.</summary>
    internal const int DescriptorEntryOffset = 0;

    /// <summary>The descriptor's <see cref="RunBlock.Program"/> value (the program's weak handle).</summary>
    internal const int DescriptorHandleOffset = 8;

    /// <summary>The descriptor's key (see <see cref="TailCallKey"/>).</summary>
    internal const int DescriptorKeyOffset = 16;

    /// <summary>The descriptor's disposed flag (a 32-bit word, set once).</summary>
    internal const int DescriptorDisposedOffset = 24;

    /// <summary>The descriptor's stack footprint (see <see cref="StackFootprint"/>), at most the stack area.</summary>
    internal const int DescriptorDirtyOffset = 28;

    /// <summary>The size of a descriptor.</summary>
    internal const int DescriptorSize = 32;

    private static readonly int TailCallCountOffset = StateOffset(static (ref RunState s) => ref s.TailCallCount);
    private static readonly int TailCallTargetOffset = StateOffset(static (ref RunState s) => ref s.TailCallTarget);
    private static readonly int CallbackDepthOffset = StateOffset(static (ref RunState s) => ref s.CallbackDepth);
    private static readonly int OwnerSlotsOffset = StateOffset(static (ref RunState s) => ref s.OwnerSlots);
    private static readonly int DirtyStackBytesOffset = StateOffset(static (ref RunState s) => ref s.DirtyStackBytes);
    private static readonly int InputAddressOffset = StateOffset(static (ref RunState s) => ref s.InputAddress);
    private static readonly int InputLengthStateOffset = StateOffset(static (ref RunState s) => ref s.InputLength);
    private static readonly int MetadataAddressOffset = StateOffset(static (ref RunState s) => ref s.MetadataAddress);
    private static readonly int MetadataLengthStateOffset = StateOffset(static (ref RunState s) => ref s.MetadataLength);
    private static readonly int RegionsStateOffset = StateOffset(static (ref RunState s) => ref s.RegionCount) - RegionsBeforeCount();
    private static readonly int RegionCountStateOffset = StateOffset(static (ref RunState s) => ref s.RegionCount);

    /// <summary>The label right after the entry's prologue, where a tail entry continues (see <see cref="EmitTailEntry"/>).</summary>
    private Label afterPrologue;

    /// <summary>The offset of a field of <see cref="RunState"/>.</summary>
    private static int StateOffset<T>(FieldRef<T> field)
    {
        RunState state = default;
        return (int)Unsafe.ByteOffset(ref Unsafe.As<RunState, byte>(ref state), ref Unsafe.As<T, byte>(ref field(ref state)));
    }

    /// <summary>How far <see cref="RunState.Regions"/> (a pointer, which a generic argument cannot be) lies before <see cref="RunState.RegionCount"/>.</summary>
    private static unsafe int RegionsBeforeCount()
    {
        RunState state = default;
        return (int)((byte*)&state.RegionCount - (byte*)&state.Regions);
    }

    /// <summary>A reference to a field of a run state.</summary>
    private delegate ref T FieldRef<T>(ref RunState state);

    /// <summary>
    /// A tail-call site (see the class): the checks and the jump, the fall-through and the exit to the host. Returns false,
    /// having emitted nothing, when the call is not a tail call through a known array with a table.
    /// </summary>
    private bool TryEmitTailCall(int pc, Helper helper)
    {
        // Not in code with local calls (callInterval): the jump would leave their native frames behind.
        if (!helpersReturn || callInterval > 0 || InlineLookupSite.FindTailCall(program, environment, helper, pc, EngineName) is not { Table: not 0 } targets)
        {
            return false;
        }

        int site = sites.Count;
        sites.Add(new HelperSite(pc, helper, null, targets));
        var fallThrough = a.CreateLabel();
        var host = a.CreateLabel();
        var done = a.CreateLabel();

        // rcx, rdx and r11 are scratch; r0 (rax) is written by the call; r1-r5 and r6-r9 stay as they are on every way on.
        // An index the call's block sets to a constant below the capacity (clang's `r3 = k` before the call) needs no
        // bounds check, and its slot's address is a constant.
        uint? index = program.Analysis.BlockValueAt(pc, 3).Constant is { } constant && (uint)constant < targets.Capacity ? (uint)constant : null;
        if (index is null)
        {
            a.mov(ecx, unchecked((int)targets.Capacity));
            a.cmp(R32(3), ecx);
            a.jae(fallThrough);
        }

        a.mov(r11, Block(RunBlock.StateOffset));
        a.cmp(__dword_ptr[r11 + TailCallCountOffset], targets.Limit);
        a.jge(fallThrough);
        if (index is { } known)
        {
            a.mov(rdx, (ulong)targets.Table + (known * 8UL));
            a.mov(rdx, __qword_ptr[rdx]);
        }
        else
        {
            a.mov(ecx, R32(3));
            a.mov(rdx, (ulong)targets.Table);
            a.mov(rdx, __qword_ptr[rdx + (rcx * 8)]);
        }

        a.test(rdx, rdx);
        a.je(fallThrough);
        a.cmp(rdx, (int)TailCallTargets.HostDecides);
        a.je(host);
        a.cmp(__dword_ptr[rdx + DescriptorDisposedOffset], 0);
        a.jne(fallThrough);
        a.mov(rcx, (ulong)TailCallKey.Of(environment, options));
        a.cmp(__qword_ptr[rdx + DescriptorKeyOffset], rcx);
        a.jne(host);
        a.cmp(__qword_ptr[r11 + OwnerSlotsOffset], 0);
        a.je(host);
        a.mov(ecx, __dword_ptr[r11 + CallbackDepthOffset]);
        a.or(ecx, __dword_ptr[r11 + CancelRequestedOffset]);
        a.or(rcx, __qword_ptr[r11 + TailCallTargetOffset]);
        a.jne(host);

        // The jump: counted, the block names the target, this code's frame undone (rsp as the host called the entry),
        // the block in the first argument register, on to the target's tail entry.
        a.inc(__dword_ptr[r11 + TailCallCountOffset]);
        a.mov(rcx, __qword_ptr[rdx + DescriptorHandleOffset]);
        a.mov(Block(RunBlock.ProgramOffset), rcx);
        a.mov(r11, __qword_ptr[rdx + DescriptorEntryOffset]);
        a.mov(rsp, Block(RunBlock.SavedRspOffset));
        a.mov(abi.FirstArgument, r12);
        EmitEpilogueWithoutReturn();
        a.jmp(r11);

        cold.Add(() =>
        {
            Bind(ref fallThrough);
            MovConstant(R64(0), unchecked((ulong)-2L));
            a.jmp(done);
        });

        // The helper decides: the site leaves as a tail-call exit, with r1-r5 and the frame in the block as for any call.
        Bind(ref host);
        StoreArguments();
        StoreCallFrame();
        a.mov(BlockDword(RunBlock.TailSiteOffset), site);
        EmitLeaveAndReload(pc, TailCallExit);
        Bind(ref done);
        return true;
    }

    /// <summary>
    /// True when the helper call at <paramref name="pc"/> is a tail call the code makes itself (see the class): it does
    /// not leave for the host when it falls through, so for <see cref="HelperReturnAnalysis"/> a loop through it is a loop
    /// without a call, which the code must yield on (and poll for cancellation there).
    /// </summary>
    internal static bool IsTailCallInCode(EbpfProgram program, ProgramEnvironment environment, HelperPlan helpers, int pc) =>
        InlineLookupSite.FindTailCall(program, environment, helpers.Helpers[helpers.SlotOf(pc)], pc, EngineName) is { Table: not 0 };

    /// <summary>r10 of the calling function to the block's call frame (the helper's stack view).</summary>
    private void StoreCallFrame()
    {
        if (holdsFrame)
        {
            a.mov(Block(RunBlock.CallFrameOffset), R64(10));
        }
        else
        {
            a.mov(rcx, Block(RunBlock.StackEndOffset));
            a.mov(Block(RunBlock.CallFrameOffset), rcx);
        }
    }

    /// <summary>The ABI's epilogue without its final return: the registers the entry saved are restored.</summary>
    private void EmitEpilogueWithoutReturn()
    {
        var epilogueCode = new Assembler(64);
        abi.EmitEpilogue(epilogueCode, written, callsOut);
        var instructions = epilogueCode.Instructions;
        if (instructions.Count == 0 || instructions[^1].Mnemonic != Mnemonic.Ret)
        {
            throw new InvalidOperationException("the ABI's epilogue does not end in a return");
        }

        for (int i = 0; i < instructions.Count - 1; i++)
        {
            a.AddInstruction(instructions[i]);
        }
    }

    /// <summary>
    /// True when the code can be entered by a tail call's jump: its helper calls return to the host and every call that
    /// leaves for the host is a tail-call site (which leaves as a <see cref="TailCallExit"/>, naming the program through
    /// the block): a target's other helper calls would leave with site indices the entry program's helper loop reads as
    /// its own. A yield names no site, so a target may loop. Not code with local calls (<see cref="callInterval"/>), whose
    /// leaves from local functions need the frame save area that only its own run provides.
    /// </summary>
    private bool TailEnterable => helpersReturn && callInterval == 0 && !directBody && sites.All(site => site.TailCalls is { Table: not 0 });

    /// <summary>
    /// The tail entry of code a tail call can enter by a jump (<see cref="TailEnterable"/>), after all other code;
    /// returns the index of its first instruction, or -1 when there is none. Entered as the code's entry is (the block in
    /// the first argument, the host's return address on the stack): the prologue, then what a tail call must do before the
    /// target runs and what the host's run method did for the entry program only: the stack bytes the run's programs so
    /// far could have written zeroed (the run state's <see cref="RunState.DirtyStackBytes"/>) and this program's own
    /// footprint recorded there (what the run clears when it ends, or before the next tail call); the block words of the
    /// run's regions and input limits this code reads, from the run state (the entry program's run method filled only
    /// those its own code reads). The budget, the context and the stack end are the run's and already in the block.
    /// Then on into the entry after its prologue.
    /// </summary>
    private int EmitTailEntry()
    {
        if (!TailEnterable)
        {
            return -1;
        }

        ulong words = 0;
        foreach (var instruction in a.Instructions)
        {
            for (int i = 0; i < instruction.OpCount; i++)
            {
                if (instruction.GetOpKind(i) == OpKind.Memory && instruction.MemoryBase == Register.R12)
                {
                    words |= 1UL << (int)(instruction.MemoryDisplacement64 / 8 % 64);
                }
            }
        }

        int first = a.Instructions.Count;
        var entryLabel = a.CreateLabel("tail_entry");
        Bind(ref entryLabel);
        abi.EmitPrologue(a, written, callsOut);

        // rdx holds the descriptor (the jump leaves it there). Zero what the run could have written: 8 bytes at a time
        // down from the stack end, then the odd bytes (rsi, which the entry loads with r2 afterwards, walks down).
        a.mov(r11, Block(RunBlock.StateOffset));
        a.movsxd(rcx, __dword_ptr[r11 + DirtyStackBytesOffset]);
        a.mov(rsi, Block(RunBlock.StackEndOffset));
        a.xor(eax, eax);
        EmitClearDown(8);
        EmitClearDown(1);
        a.mov(ecx, __dword_ptr[rdx + DescriptorDirtyOffset]);
        a.mov(__dword_ptr[r11 + DirtyStackBytesOffset], ecx);

        CopyStateWord(words, RunBlock.InputStartOffset, InputAddressOffset);
        CopyStateWord(words, RunBlock.InputLengthOffset, InputLengthStateOffset);
        CopyStateWord(words, RunBlock.MetadataStartOffset, MetadataAddressOffset);
        CopyStateWord(words, RunBlock.MetadataLengthOffset, MetadataLengthStateOffset);
        CopyStateWord(words, RunBlock.RegionsOffset, RegionsStateOffset);
        if (Uses(words, RunBlock.RegionCountOffset))
        {
            a.mov(ecx, __dword_ptr[r11 + RegionCountStateOffset]);
            a.mov(BlockDword(RunBlock.RegionCountOffset), ecx);
        }

        for (int log = 0; log < 4; log++)
        {
            int offset = RunBlock.InputLimitOffset + (8 * log);
            if (Uses(words, offset))
            {
                // MemoryGuard.Limit: length - size + 1, or 0 when the input is shorter than the size.
                a.mov(rcx, __qword_ptr[r11 + InputLengthStateOffset]);
                a.sub(rcx, (1 << log) - 1);
                a.cmovb(rcx, rax);
                a.mov(Block(offset), rcx);
            }
        }

        a.jmp(afterPrologue);
        return first;
    }

    /// <summary>While rcx (the bytes left) is at least <paramref name="step"/> (8 or 1): rsi down by the step, the step's
    /// bytes there zeroed from rax (0), rcx down by it.</summary>
    private void EmitClearDown(int step)
    {
        var loop = a.CreateLabel();
        var end = a.CreateLabel();
        Bind(ref loop);
        a.cmp(rcx, step);
        a.jb(end);
        a.sub(rsi, step);
        if (step == 8)
        {
            a.mov(__qword_ptr[rsi], rax);
        }
        else
        {
            a.mov(__byte_ptr[rsi], al);
        }

        a.sub(rcx, step);
        a.jmp(loop);
        Bind(ref end);
    }

    private static bool Uses(ulong words, int offset) => (words & (1UL << (offset / 8))) != 0;

    /// <summary>Copies a word of the run state (r11) into the block when the code reads it (<paramref name="words"/>).</summary>
    private void CopyStateWord(ulong words, int blockOffset, int stateOffset)
    {
        if (Uses(words, blockOffset))
        {
            a.mov(rcx, __qword_ptr[r11 + stateOffset]);
            a.mov(Block(blockOffset), rcx);
        }
    }
}

/// <summary>
/// The key of the environment and options a program was compiled with: a tail call's jump enters only a target with the
/// caller's key (the same environment, maps and helpers; the same options, so the same stack, budget counting, checks
/// and entry context), since the target's code runs on the caller's run block.
/// </summary>
internal static class TailCallKey
{
    private static readonly ConditionalWeakTable<ProgramEnvironment, ConcurrentDictionary<ExecutionOptions, long>> Keys = [];
    private static long last;

    /// <summary>The key of <paramref name="environment"/> and <paramref name="options"/> (never 0).</summary>
    public static long Of(ProgramEnvironment environment, ExecutionOptions options) =>
        Keys.GetOrCreateValue(environment).GetOrAdd(options, static _ => Interlocked.Increment(ref last));
}
