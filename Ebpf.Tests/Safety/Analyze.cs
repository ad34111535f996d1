using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>Helpers of the safety tests: assemble, analyse, and a context with one hash map and the Linux helpers.</summary>
internal static class Analyze
{
    /// <summary>A 4-byte-key, 16-byte-value map (index 0), a read-only 8-byte global (index 1) and a writable one (index 2).</summary>
    public static readonly MapShape Map = new("counts", 4, 16, ReadOnly: false, IsGlobalData: false);
    public static readonly MapShape Rodata = new(".rodata", 4, 8, ReadOnly: true, IsGlobalData: true);
    public static readonly MapShape Data = new(".data", 4, 8, ReadOnly: false, IsGlobalData: true);

    public static SafetyContext LinuxContext()
    {
        var helpers = LinuxHelpers.Register(new HelperTable());
        helpers.Set(new Helper(99, "undeclared", (_, _, _, _, _) => 0));
        return new SafetyContext(
            helpers.Select(h => KeyValuePair.Create(h.Id, h.Signature)),
            (_, imm) => imm switch { 0 => Map, 1 => Rodata, 2 => Data, _ => null });
    }

    public static EbpfProgram Program(string asm) => EbpfProgram.Create(Assembler.AssembleBytes(asm), Verifier.Default);

    public static SafetyAnalysis Asm(string asm, SafetyContext? context = null) =>
        Program(asm).Analysis.SafetyWithLog(context ?? LinuxContext());

    public static SafetyAnalysis Slots(Instruction[] slots, SafetyContext? context = null) =>
        EbpfProgram.Create(slots, Verifier.Default).Analysis.SafetyWithLog(context ?? LinuxContext());

    /// <summary>The two slots of <c>lddw dst, pseudo source</c>.</summary>
    public static Instruction[] PseudoLddw(byte dst, LddwSource source, int imm, int nextImm = 0) =>
        [new Instruction(OpCodes.Lddw, dst, (byte)source, 0, imm), new Instruction(0, 0, 0, 0, nextImm)];
}
