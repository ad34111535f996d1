using Ebpf.Execution;
using Ebpf.Helpers;
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

    /// <summary>
    /// r0 = <c>key &lt; live entries ? values + key * stride : 0</c> for the u32 key at r2, after the check the helper makes of
    /// its 4 bytes (against the stack frames, the input, the metadata and the regions; a violation names the call).
    /// Changes only r0 and the scratch registers.
    /// </summary>
    private void EmitInlineLookup(int pc, ArrayLookup lookup)
    {
        if (options.HelperArgumentChecks)
        {
            EmitCheck(pc, __[R64(2)], 4, write: false, StackCheck.AllFrames);
        }

        var missing = a.CreateLabel();
        var done = a.CreateLabel();
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
