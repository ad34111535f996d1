using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>Map lookup helper calls on a known array map, compiled inline (see <see cref="ArrayLookup"/>).</summary>
internal sealed partial class X64Compiler
{
    /// <summary>
    /// The inline lookup of the helper call at <paramref name="pc"/>, or null to call the helper. Only where the key's
    /// check can be emitted as the helper would make it: with memory checks on (the shared slow check exists), or
    /// with helper argument checks off (no check), and with a stride that fits an immediate.
    /// </summary>
    private ArrayLookup? InlineLookupAt(int pc, Helper helper) => InlineLookupAt(program, environment, options, pc, helper);

    /// <summary>The inline lookup of the helper call at <paramref name="pc"/> (see the instance method), for a compilation
    /// with <paramref name="options"/>.</summary>
    private static ArrayLookup? InlineLookupAt(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, int pc, Helper helper) =>
        (options.MemoryChecks || !options.HelperArgumentChecks)
        && InlineLookupSite.Find(program, environment, helper, pc, EngineName) is { ValueStride: <= int.MaxValue } lookup
            ? lookup
            : null;

    /// <summary>
    /// True when the helper call at <paramref name="pc"/> (a <c>call</c> of a helper, not a <c>callx</c>) is compiled
    /// inline, or as a hash-map lookup in the code (see <see cref="HashLookupAt(EbpfProgram, ProgramEnvironment, ExecutionOptions, int, Helper)"/>),
    /// so that the code does not leave at it, or not always: for <see cref="HelperReturnAnalysis"/> a loop through it is
    /// a loop without a call, which the code must yield on (and poll for cancellation).
    /// </summary>
    internal static bool IsInlineCall(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, HelperPlan helpers, int pc)
    {
        var helper = helpers.Helpers[helpers.SlotOf(pc)];
        return InlineLookupAt(program, environment, options, pc, helper) is not null
            || HashLookupAt(program, environment, options, pc, helper) is not null;
    }

    /// <summary>The x64 frame's <see cref="Analysis.AnalysisResults.IsOwnFrameArgument"/>.</summary>
    private bool IsOwnFrameArgument(int pc, int register, int size) => program.Analysis.IsOwnFrameArgument(pc, register, size, stackSize);

    /// <summary>
    /// The u32 key of the array lookup at <paramref name="pc"/> when the call's basic block makes it a constant: r2 is
    /// r10 + k inside the frame (<see cref="IsOwnFrameArgument"/>) and the block's last write to any of the 4 bytes at
    /// r10 + k is a 4-byte store there of an immediate, or of a register the block sets to a constant
    /// (<see cref="Analysis.AnalysisResults.BlockValueAt"/>). Null when anything else in the block may have written them since: another store or
    /// atomic into those bytes, a store or atomic through a register other than r10 (it may point into the frame), or
    /// a call (a helper writes through the pointers it is given). clang stores a constant key this way
    /// (<c>r1 = 0; *(u32 *)(r10 - 4) = r1; r2 = r10; r2 += -4</c>).
    /// </summary>
    private uint? ConstantKeyAt(int pc)
    {
        if (!IsOwnFrameArgument(pc, 2, 4) || program.Analysis.BlockValueAt(pc, 2).FrameOffset is not { } at)
        {
            return null;
        }

        var code = program.Decoded;
        int start = program.Analysis.Blocks[program.Analysis.BlockIndexOf(pc)].Start;
        uint? key = null;
        for (int q = start; q < pc; q += code[q].Length)
        {
            var insn = code[q];
            if (insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal)
            {
                key = null;
            }
            else if (insn.Operation == Operation.Store || insn.IsAtomic)
            {
                long first = insn.Offset, end = first + insn.AccessSize;
                if (insn.BaseRegister != 10)
                {
                    key = null;
                }
                else if (end > at && first < at + 4)
                {
                    key = insn.Operation == Operation.Store && first == at && insn.AccessSize == 4
                        ? insn.HasRegisterSource
                            ? program.Analysis.BlockValueAt(q, insn.Src).Constant is { } constant ? (uint)constant : null
                            : (uint)insn.Imm
                        : null;
                }
            }
        }

        return key;
    }


    /// <summary>
    /// r0 = <c>key &lt; live entries ? values + key * stride : 0</c> for the u32 key at r2, after the check the helper makes of
    /// its 4 bytes (against the stack frames, the input, the metadata and the regions; a violation names the call).
    /// Changes only r0 and the scratch registers.
    /// </summary>
    private void EmitInlineLookup(int pc, ArrayLookup lookup)
    {
        var missing = a.CreateLabel();
        var done = a.CreateLabel();
        if (ConstantKeyAt(pc) is { } key && key <= int.MaxValue
            && lookup.ValueAddress + ((ulong)key * lookup.ValueStride) is var value && value >= lookup.ValueAddress)
        {
            // A key the block stores as a constant into the frame: its pointer needs no check (IsOwnFrameArgument), and
            // the value's address is a constant when the key is below the live entries (the word is 0 once the map is gone).
            a.mov(r11, lookup.EntriesAddress);
            a.cmp(__qword_ptr[r11], (int)key);
            a.jbe(missing);
            a.mov(R64(0), value);
            a.jmp(done);
            Bind(ref missing);
            a.xor(R32(0), R32(0));
            Bind(ref done);
            return;
        }

        if (options.HelperArgumentChecks && !IsOwnFrameArgument(pc, 2, 4))
        {
            EmitCheck(pc, __[R64(2)], 4, write: false, StackCheck.AllFrames);
        }

        a.mov(R32(0), __dword_ptr[R64(2)]);
        a.mov(r11, lookup.EntriesAddress);
        a.cmp(R64(0), __qword_ptr[r11]);
        a.jae(missing);
        a.imul(R64(0), R64(0), (int)lookup.ValueStride);
        a.mov(r11, lookup.ValueAddress);
        a.add(R64(0), r11);
        a.jmp(done);
        Bind(ref missing);
        a.xor(R32(0), R32(0));
        Bind(ref done);
    }
}
