using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf;

/// <summary>
/// An immutable, verified eBPF program: its slots, functions and jump targets. Created only by
/// <see cref="Create(ReadOnlySpan{byte}, IVerifier, string?, string?)"/>, which runs the given verifier and then
/// always decodes the program (<see cref="InstructionDecoder"/>: only defined encodings are accepted, see
/// <see cref="Decoded"/>) and enforces the structural rules every engine relies on:
/// registers r0-r10; no write to r10; <c>lddw</c> complete;
/// jump and local-call targets inside the program and never on the second slot of an <c>lddw</c>; jumps stay inside
/// their function (in every slot, reachable or not); no reachable path runs off the end of a function; an
/// <c>lddw</c> with the code-address source names the first slot of an instruction, which starts a function; at most
/// <see cref="MaxSlots"/> slots.
/// </summary>
public sealed class EbpfProgram
{
    /// <summary>The most slots a program may have.</summary>
    public const int MaxSlots = 1_000_000;

    private readonly bool[] jumpTargets;
    private readonly bool[] secondSlots;
    private readonly int[] functionOfSlot;
    private readonly bool[] callbacks;
    private Analysis.AnalysisResults? analysis;

    private EbpfProgram(ImmutableArray<Instruction> instructions, ProgramAnalysis analysis, string? name, string? section)
    {
        Instructions = instructions;
        Decoded = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(analysis.Decoded);
        Functions = analysis.Functions;
        jumpTargets = analysis.JumpTargets;
        secondSlots = analysis.SecondSlots;
        functionOfSlot = analysis.FunctionOfSlot;
        callbacks = analysis.Callbacks;
        HasCallbacks = callbacks.Contains(true);
        Name = name;
        Section = section;
        var bytes = Instruction.EncodeAll(instructions.AsSpan());
        Bytes = ImmutableArray.Create(bytes);
    }

    /// <summary>The slots (an <c>lddw</c> takes two).</summary>
    public ImmutableArray<Instruction> Instructions { get; }

    /// <summary>
    /// The decoded instructions, one per slot (the second slot of an <c>lddw</c> holds <see cref="Operation.None"/>):
    /// what the verifier, the formatter and every engine read. Every entry is a defined encoding.
    /// </summary>
    public ImmutableArray<DecodedInstruction> Decoded { get; }

    /// <summary>The encoded program (8 bytes per slot, little-endian).</summary>
    public ImmutableArray<byte> Bytes { get; }

    /// <summary>The functions, ordered by start; <c>Functions[0]</c> is the entry function at slot 0.</summary>
    public ImmutableArray<FunctionInfo> Functions { get; }

    /// <summary>
    /// The shared analysis the engines translate from (control-flow graph, budget segments, access regions), computed
    /// on first use and kept with the program.
    /// </summary>
    public Analysis.AnalysisResults Analysis => LazyInitializer.EnsureInitialized(ref analysis, () => new Analysis.AnalysisResults(this));

    /// <summary>The program's name (e.g. the ELF symbol), if known.</summary>
    public string? Name { get; }

    /// <summary>The ELF section the program came from, if any.</summary>
    public string? Section { get; }

    /// <summary>The number of slots.</summary>
    public int Length => Instructions.Length;

    /// <summary>True when some jump lands on <paramref name="pc"/>.</summary>
    public bool IsJumpTarget(int pc) => jumpTargets[pc];

    /// <summary>True when <paramref name="pc"/> is the second slot of an <c>lddw</c> (not an instruction of its own).</summary>
    public bool IsSecondSlot(int pc) => secondSlots[pc];

    /// <summary>The index in <see cref="Functions"/> of the function that holds <paramref name="pc"/>.</summary>
    public int FunctionIndexOf(int pc) => functionOfSlot[pc];

    /// <summary>The index in <see cref="Functions"/> of the function a local call at <paramref name="pc"/> enters.</summary>
    public int CallTargetFunction(int pc) => functionOfSlot[Decoded[pc].Target];

    /// <summary>
    /// True when function <paramref name="function"/> (an index in <see cref="Functions"/>) is a callback: an
    /// <c>lddw</c> with the code-address pseudo source (<c>src=4</c>) loads its address, so helpers such as
    /// <c>bpf_loop</c> may call it. Only such functions can be called through a function pointer.
    /// </summary>
    public bool IsCallback(int function) => (uint)function < (uint)callbacks.Length && callbacks[function];

    /// <summary>True when the program loads the address of one of its functions (see <see cref="IsCallback"/>).</summary>
    public bool HasCallbacks { get; }

    /// <summary>Decodes, verifies and analyses a program.</summary>
    /// <param name="code">The bytecode (8 bytes per slot).</param>
    /// <param name="verifier">The policy verifier to run first.</param>
    /// <param name="name">An optional name.</param>
    /// <param name="section">An optional section name.</param>
    /// <exception cref="EbpfDecodeException">The length is not a multiple of 8.</exception>
    /// <exception cref="EbpfVerificationException">The verifier or a structural rule rejects the program.</exception>
    public static EbpfProgram Create(ReadOnlySpan<byte> code, IVerifier verifier, string? name = null, string? section = null) =>
        Create(Instruction.DecodeAll(code), verifier, name, section);

    /// <summary>Verifies and analyses a program given as slots.</summary>
    /// <exception cref="EbpfVerificationException">The verifier or a structural rule rejects the program.</exception>
    public static EbpfProgram Create(ReadOnlySpan<Instruction> instructions, IVerifier verifier, string? name = null, string? section = null)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        verifier.Verify(instructions);
        var analysis = ProgramAnalysis.Analyze(instructions);
        return new EbpfProgram(ImmutableArray.Create(instructions), analysis, name, section);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name ?? "program"} ({Length} slots, {Functions.Length} function(s))";
}
