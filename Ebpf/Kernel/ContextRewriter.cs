using Ebpf.Analysis;
using Ebpf.Isa;

namespace Ebpf.Kernel;

/// <summary>
/// The load-time rewrite of context accesses, as the kernel's verifier does it (<c>convert_ctx_accesses</c>): a 32-bit
/// load of <c>data</c>, <c>data_end</c> or <c>data_meta</c> becomes a 64-bit load of the pointer the run's context
/// holds after the uapi structure. The safety analysis (with the type's <see cref="ContextLayout"/>) says which
/// instructions load which field; one instruction replaces another, so no jump moves. Numeric fields keep their uapi
/// offsets and need no rewrite.
/// </summary>
internal static class ContextRewriter
{
    private const byte LoadDoubleWord = 0x79;

    /// <summary>The size bits of a 16-bit memory access (a 32-bit access has 0 there).</summary>
    private const byte HalfWordSize = 0x08;

    /// <summary>The rewritten program and the number of loads rewritten.</summary>
    public static (EbpfProgram Program, int Rewritten) Rewrite(EbpfProgram program, KernelProgramType type, ProgramEnvironment environment, ExecutionOptions options, IVerifier verifier)
    {
        var context = SafetyContext.For(environment, options, KernelContextLayouts.For(type));
        var analysis = program.Analysis.Safety(context);
        Refuse(program, type, analysis);
        var native = KernelContextLayouts.NativeFor(type);
        var instructions = program.Instructions.ToArray();
        var changes = new List<(int Pc, AccessProof Proof, ContextField? Field)>();
        for (int pc = 0; pc < instructions.Length; pc++)
        {
            var instruction = instructions[pc];
            if (analysis.ContextFieldAt(pc) is { Kind: ContextFieldKind.Scalar, Name: "tc_classid" } classid && IsWordStore(instruction))
            {
                // The kernel keeps tc_classid in 16 bits (qdisc_skb_cb) and stores only the low half of what a program
                // writes (checked on Linux 6.18: 0x10002 written reads 2): the 32-bit store becomes a 16-bit one, and
                // the upper half of the field, which nothing else writes, stays 0.
                instructions[pc] = new Instruction((byte)(instruction.OpCode | HalfWordSize), instruction.Dst, instruction.Src, instruction.Offset, instruction.Imm);
                changes.Add((pc, analysis.Access(pc) with { Size = 2 }, native.Fields.Single(f => f.Name == classid.Name)));
                continue;
            }

            if (analysis.ContextFieldAt(pc) is not { Kind: not ContextFieldKind.Scalar } field)
            {
                continue;
            }

            if (instruction.Class != InstructionClass.Ldx || instruction.AccessMode != AccessMode.Memory)
            {
                throw new EbpfTestRunException($"program '{program.Name}' at pc {pc}: the context field {field.Name} is a packet pointer; it can only be loaded, not written");
            }

            int offset = NativeContext.PointerOffset(type, field.Name);
            instructions[pc] = new Instruction(LoadDoubleWord, instruction.Dst, instruction.Src, checked((short)offset), 0);
            changes.Add((pc, new AccessProof(AccessOutcome.Proven, ValueKind.Context, offset, offset, 8), native.Fields.Single(f => f.Name == field.Name)));
        }

        var result = changes.Count == 0 ? program : EbpfProgram.Create(instructions, verifier, program.Name, program.Section);
        HandOn(result, context.WithLayout(native), analysis, changes, NativeFields(program, analysis, native, changes));
        return (result, changes.Count);
    }

    /// <summary>
    /// Hands the analysis of the program as written on to the compilation of <paramref name="rewritten"/> under the
    /// context its runs get (<paramref name="native"/>: the same world with the native layout), so that the engine does
    /// not analyse it again. The two analyses agree: a rewritten load gives its register the same abstract value (the
    /// field's kind decides it, not its offset or width), a store to the context changes no abstract state, and every
    /// other instruction is the same, so every state, conclusion and finding is the same but for the rewritten accesses
    /// themselves, which <paramref name="changes"/> gives as the analyser concludes them under the native layout (a
    /// proven load of the 8-byte pointer field; the narrowed tc_classid store, 2 bytes of the native field, which takes
    /// them). Not handed on (the engine analyses afresh) when the analysis has an error (its message may name the
    /// layout) or a finding at a rewritten pc (its instruction text changed). KernelProofUseTests compares the two.
    /// </summary>
    private static void HandOn(
        EbpfProgram rewritten,
        SafetyContext native,
        SafetyAnalysis analysis,
        List<(int Pc, AccessProof Proof, ContextField? Field)> changes,
        List<(int Pc, AccessProof Proof, ContextField? Field)> nativeFields)
    {
        var pcs = changes.Select(c => c.Pc).ToHashSet();
        if (!analysis.IsSafe || analysis.Unproven.Any(f => pcs.Contains(f.Pc)) || analysis.LoadRefusals.Any(f => pcs.Contains(f.Pc)))
        {
            return;
        }

        var all = changes.Concat(nativeFields).ToList();
        rewritten.Analysis.HandOn(native, all.Count == 0 ? analysis : analysis.WithAccesses(all));
    }

    /// <summary>
    /// The other accesses of numeric fields whose native field is another object than the uapi one (tc_classid, which
    /// the native layout lets take 16-bit stores: its loads), with the native field, as the analyser concludes them under
    /// the native layout (the access itself is the same).
    /// </summary>
    private static List<(int Pc, AccessProof Proof, ContextField? Field)> NativeFields(EbpfProgram program, SafetyAnalysis analysis, ContextLayout native, List<(int Pc, AccessProof Proof, ContextField? Field)> changes)
    {
        var rewritten = changes.Select(c => c.Pc).ToHashSet();
        var result = new List<(int Pc, AccessProof Proof, ContextField? Field)>();
        for (int pc = 0; pc < program.Instructions.Length; pc++)
        {
            if (!rewritten.Contains(pc)
                && analysis.ContextFieldAt(pc) is { Kind: ContextFieldKind.Scalar } field
                && native.Fields.Single(f => f.Name == field.Name) is var counterpart
                && !ReferenceEquals(counterpart, field))
            {
                result.Add((pc, analysis.Access(pc), counterpart));
            }
        }

        return result;
    }

    private static bool IsWordStore(Instruction instruction) =>
        instruction.Class is InstructionClass.St or InstructionClass.Stx && instruction.AccessMode == AccessMode.Memory && (instruction.OpCode & 0x18) == 0;

    /// <summary>
    /// What the kernel's verifier refuses at load and the analysis finds: the rules of
    /// <see cref="SafetyAnalysis.LoadRefusals"/> (a ring buffer record owned at exit or at a tail call, a callback
    /// context that is neither the stack nor null); in a socket filter any access to a context field Linux refuses to
    /// that type (<c>data</c>, <c>data_end</c>...: no direct packet access); in an XDP program that is not a devmap
    /// program (section <c>xdp/devmap</c> or <c>xdp.frags/devmap</c>) any access to <c>xdp_md.egress_ifindex</c>
    /// (<c>xdp_is_valid_access</c>; checked on Linux 6.18: "invalid bpf_context access off=20 size=4", cpumap programs
    /// included); in any type a context access the type's layout (<see cref="KernelContextLayouts.For"/>, the rules the
    /// safety analysis applies too) refuses: past the uapi structure, misaligned, a size or a store the field does not
    /// allow; and an access through a socket pointer the analysis refutes (not compared with 0, a store, a field the
    /// socket layouts do not allow).
    /// </summary>
    private static void Refuse(EbpfProgram program, KernelProgramType type, SafetyAnalysis analysis)
    {
        if (analysis.LoadRefusals.FirstOrDefault() is { } refusal)
        {
            throw new EbpfTestRunException($"program '{program.Name}' at pc {refusal.Pc} ({refusal.Instruction}): {refusal.Message}");
        }

        if (ContextRefusals(program, type, analysis).FirstOrDefault() is { } access)
        {
            throw new EbpfTestRunException($"program '{program.Name}' at pc {access.Pc}: {access.Message}");
        }
    }

    /// <summary>Everything <see cref="Refuse"/> refuses a load for, in program order within each rule (see <see cref="KernelProgram.LoadRefusals"/>).</summary>
    public static IReadOnlyList<SafetyFinding> Refusals(EbpfProgram program, KernelProgramType type, SafetyAnalysis analysis) =>
        [.. analysis.LoadRefusals, .. ContextRefusals(program, type, analysis)];

    /// <summary>
    /// The context accesses the type refuses (see <see cref="Refuse"/>), each with its pc, instruction and why (no state
    /// line): the forbidden fields first, then every access at a constant offset from the unmodified context pointer
    /// that the type's layout refuses (<see cref="ContextLayout.Refusal"/>), whether the analysis (with that layout)
    /// proves or refutes it (the analysis refutes it too, unless it found an error before).
    /// Refuted accesses matter because of the runs' contexts: past the uapi structure they hold the library's packet
    /// pointers, so a load the analysis as written refutes could pass the analysis of the rewritten program. Accesses
    /// through a moved context pointer, atomics and sign-extending loads (not checked against the kernel) stay the
    /// analysis' errors.
    /// </summary>
    private static IEnumerable<SafetyFinding> ContextRefusals(EbpfProgram program, KernelProgramType type, SafetyAnalysis analysis)
    {
        var (forbidden, why) = type switch
        {
            KernelProgramType.SocketFilter => (
                KernelContextLayouts.SkBuff.Fields.Where(f => KernelContextLayouts.SocketFilterForbidden.Contains(f.Name)).ToArray(),
                "a socket filter may not access __sk_buff.{0} (no direct packet access: socket filters read the packet with bpf_skb_load_bytes)"),
            KernelProgramType.Xdp when KernelProgramTypes.XdpMapAttachType(program.Section) != "BPF_XDP_DEVMAP" => (
                KernelContextLayouts.Xdp.Fields.Where(f => f.Name == "egress_ifindex").ToArray(),
                "only a devmap program (section xdp/devmap or xdp.frags/devmap, expected attach type BPF_XDP_DEVMAP) may access xdp_md.{0}"),
            _ => (Array.Empty<ContextField>(), string.Empty),
        };
        var layout = KernelContextLayouts.For(type);
        for (int pc = 0; pc < program.Instructions.Length; pc++)
        {
            var access = analysis.Access(pc);
            if (AbstractValue.IsSocket(access.Region) && access.Outcome == AccessOutcome.Refuted && analysis.Errors.FirstOrDefault(e => e.Pc == pc) is { } socketError)
            {
                // a socket pointer's field the kernel refuses (its rules are the socket layouts', which the analysis applies)
                yield return new SafetyFinding(pc, FindingDetails.Text(program, pc), socketError.Message, string.Empty);
                continue;
            }

            if (access.Region != ValueKind.Context || access.Outcome is AccessOutcome.NotAnAccess or AccessOutcome.Unreachable)
            {
                continue;
            }

            string? reason = null;
            var touched = forbidden.FirstOrDefault(f => access.MinOffset < f.Offset + f.Size && access.MaxOffset + access.Size > f.Offset);
            if (touched is not null)
            {
                reason = string.Format(System.Globalization.CultureInfo.InvariantCulture, why, touched.Name);
            }
            else if (program.Instructions[pc] is var instruction && instruction.AccessMode == AccessMode.Memory && access.MinOffset == instruction.Offset)
            {
                reason = layout.Refusal(access.MinOffset, access.Size, instruction.Class is InstructionClass.St or InstructionClass.Stx);
            }

            if (reason is not null)
            {
                yield return new SafetyFinding(pc, FindingDetails.Text(program, pc), $"invalid bpf_context access off={access.MinOffset} size={access.Size}: {reason}", string.Empty);
            }
        }
    }
}
