using System.Collections.Immutable;
using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// What the engines know about a program before they translate it, worked out once per program (the way
/// RegexTreeAnalyzer serves the regex engines) and only when asked for: <see cref="EbpfProgram.Analysis"/> computes it
/// on first use and keeps it. Holds the basic blocks and the control-flow graph, the budget segments with their
/// pc-recovery function, the region each memory access most likely touches, and which accesses stay inside the
/// current stack frame. Thread-safe.
/// </summary>
public sealed class AnalysisResults
{
    private readonly EbpfProgram program;
    private readonly int[] blockOfSlot;
    private readonly AccessRegion[] regions;
    private BudgetSegments? checkedSegments;
    private BudgetSegments? uncheckedSegments;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SafetyContext, SafetyAnalysis> safety = new();

    /// <summary>An analysis made elsewhere and the context it holds under (see <see cref="HandOn"/>), until taken.</summary>
    private (SafetyContext Context, SafetyAnalysis Analysis)? handedOn;

    internal AnalysisResults(EbpfProgram program)
    {
        this.program = program;
        (Blocks, blockOfSlot) = FindBlocks(program);
        regions = new AccessRegion[program.Length];
        for (int f = 0; f < program.Functions.Length; f++)
        {
            AccessRegionGuess.Guess(program, program.Functions[f], f == 0, regions);
        }
    }

    /// <summary>The basic blocks in program order (the control-flow graph: see <see cref="BasicBlock.Successors"/>).</summary>
    public ImmutableArray<BasicBlock> Blocks { get; }

    /// <summary>The index in <see cref="Blocks"/> of the block that holds <paramref name="pc"/>.</summary>
    public int BlockIndexOf(int pc) => blockOfSlot[pc];

    /// <summary>The budget segments for code with (<paramref name="memoryChecks"/>) or without memory checks (checked accesses can fail, so they end a segment).</summary>
    public BudgetSegments Segments(bool memoryChecks) => memoryChecks
        ? LazyInitializer.EnsureInitialized(ref checkedSegments, () => new BudgetSegments(program, true))
        : LazyInitializer.EnsureInitialized(ref uncheckedSegments, () => new BudgetSegments(program, false));

    /// <summary>
    /// The safety analysis under <paramref name="context"/> (types, ranges and initialisation by abstract
    /// interpretation): per access proven, refuted or unknown, and the errors and unproven points a proving verifier
    /// reports. Computed on first use per context object and kept while the context lives; engines that want the proof
    /// keep one <see cref="SafetyContext"/> per environment.
    /// </summary>
    public SafetyAnalysis Safety(SafetyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return safety.GetValue(context, c => TakeHandedOn(c) ?? SafetyAnalyzer.Analyze(program, c, withLog: false));
    }

    /// <summary>
    /// Hands on <paramref name="analysis"/>, made elsewhere, as this program's analysis under <paramref name="context"/>:
    /// the next <see cref="Safety(SafetyContext)"/> for a context of the same world (<see cref="SafetyContext.SameWorld"/>)
    /// takes it instead of analysing (once; a later hand-on replaces an unused one). The caller vouches that it is what
    /// the analyser would compute for this program under that context (a kernel program's loads rewritten from its
    /// analysis as written: see <c>ContextRewriter</c>).
    /// </summary>
    internal void HandOn(SafetyContext context, SafetyAnalysis analysis)
    {
        lock (safety)
        {
            handedOn = (context, analysis);
        }
    }

    private SafetyAnalysis? TakeHandedOn(SafetyContext context)
    {
        lock (safety)
        {
            if (handedOn is not { } given || !given.Context.SameWorld(context))
            {
                return null;
            }

            handedOn = null;
            return given.Analysis;
        }
    }

    /// <summary>The safety analysis with its verifier log (not cached: the log can be large).</summary>
    public SafetyAnalysis SafetyWithLog(SafetyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return SafetyAnalyzer.Analyze(program, context, withLog: true);
    }

    /// <summary>
    /// The region the load, store or atomic at <paramref name="pc"/> most likely touches, by where its base register's
    /// value came from in program order: r10 and copies or offsets of it point into the stack, r1 on entry to the
    /// entry function into the context, anything else (loaded, computed, returned) is taken for the input. A guess
    /// only: it picks the comparison a JIT makes inline, and every region is still accepted on the cold path.
    /// </summary>
    public AccessRegion RegionOf(int pc) => regions[pc];

    /// <summary>
    /// True when the access at <paramref name="pc"/> lies inside the current frame for every possible r10 (r10 as base
    /// and a constant offset within <paramref name="stackSize"/> bytes below it), so it needs no run-time check.
    /// </summary>
    public bool IsOwnFrameAccess(int pc, int stackSize) => IsOwnFrameAccess(program.Decoded[pc], stackSize);

    /// <summary>True when <paramref name="insn"/> accesses memory through r10 at a constant offset inside a frame of
    /// <paramref name="stackSize"/> bytes (see <see cref="IsOwnFrameAccess(int, int)"/>).</summary>
    public static bool IsOwnFrameAccess(in DecodedInstruction insn, int stackSize) =>
        insn.BaseRegister == 10 && insn.Offset >= -stackSize && insn.Offset + insn.AccessSize <= 0;

    /// <summary>
    /// True when register <paramref name="register"/> holds r10 + k at the helper call at <paramref name="pc"/> with the
    /// <paramref name="size"/> bytes there inside the current frame of <paramref name="stackSize"/> bytes, by the
    /// instructions of the call's basic block before it (see <see cref="BlockValueAt"/>). r10 is read-only and always the
    /// top of the current frame, so the helper's check of such an argument cannot fail and an engine leaves it out, as
    /// it leaves out the check of a load or store at <c>[r10 + k]</c> inside the frame (<see cref="IsOwnFrameAccess(int, int)"/>).
    /// clang passes a map key on the stack this way.
    /// </summary>
    public bool IsOwnFrameArgument(int pc, int register, int size, int stackSize) =>
        BlockValueAt(pc, register) is { FrameOffset: { } at } && at >= -stackSize && at + size <= 0;

    /// <summary>
    /// What the instructions of the basic block of <paramref name="pc"/> before it make of register
    /// <paramref name="register"/> (control enters a block only at its start, so every path to <paramref name="pc"/> runs
    /// them): r10 + k (a <c>mov64</c> of r10 into the register, then only <c>add64</c>/<c>sub64</c> of an immediate), or a
    /// constant (a <c>mov64</c> of an immediate, sign-extended, or a <c>mov32</c> of one, zero-extended), when nothing
    /// else writes the register after that (a call counts as writing r0-r5); both null otherwise.
    /// </summary>
    public (long? FrameOffset, ulong? Constant) BlockValueAt(int pc, int register)
    {
        var code = program.Decoded;
        int start = Blocks[BlockIndexOf(pc)].Start;
        long? offset = null;
        ulong? constant = null;
        for (int q = start; q < pc; q += code[q].Length)
        {
            var insn = code[q];
            if (insn.Operation == Operation.Mov && insn.Is64 && insn.HasRegisterSource && insn.Src == 10 && insn.Dst == register)
            {
                (offset, constant) = (0, null);
            }
            else if (insn.Operation == Operation.Mov && !insn.HasRegisterSource && insn.Dst == register)
            {
                (offset, constant) = (null, insn.Is64 ? unchecked((ulong)(long)insn.Imm) : (uint)insn.Imm);
            }
            else if (insn.Operation is Operation.Add or Operation.Sub && insn.Is64 && !insn.HasRegisterSource && insn.Dst == register)
            {
                (offset, constant) = (offset is { } k ? (insn.Operation == Operation.Add ? k + insn.Imm : k - insn.Imm) : null, null);
            }
            else if (insn.WrittenRegister == register || insn.WriteBackRegister == register
                || (register <= 5 && insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal))
            {
                (offset, constant) = (null, null);
            }
        }

        return (offset, constant);
    }

    private static (ImmutableArray<BasicBlock> Blocks, int[] BlockOfSlot) FindBlocks(EbpfProgram program)
    {
        var code = program.Decoded;
        int n = code.Length;
        var leader = new bool[n];
        foreach (var function in program.Functions)
        {
            leader[function.Start] = true;
        }

        for (int pc = 0; pc < n; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (program.IsJumpTarget(pc))
            {
                leader[pc] = true;
            }

            int next = pc + insn.Length;
            if ((insn.IsJump || insn.Operation == Operation.Exit) && next < n)
            {
                leader[next] = true;
            }
        }

        var blocks = ImmutableArray.CreateBuilder<BasicBlock>();
        var blockOf = new int[n];
        int start = 0;
        for (int pc = 1; pc <= n; pc++)
        {
            if (pc < n && !leader[pc])
            {
                continue;
            }

            int last = LastInstruction(program, start, pc);
            var insn = code[last];
            var successors = ImmutableArray.CreateBuilder<int>(2);
            if (insn.IsJump)
            {
                successors.Add(insn.Target);
            }

            if (insn.FallsThrough && pc < n && program.FunctionIndexOf(pc) == program.FunctionIndexOf(start))
            {
                successors.Add(pc);
            }

            Array.Fill(blockOf, blocks.Count, start, pc - start);
            blocks.Add(new BasicBlock(start, pc, program.FunctionIndexOf(start), successors.ToImmutable()));
            start = pc;
        }

        return (blocks.ToImmutable(), blockOf);
    }

    /// <summary>The last instruction (not an <c>lddw</c> second slot) in <paramref name="start"/>..<paramref name="end"/>.</summary>
    private static int LastInstruction(EbpfProgram program, int start, int end) =>
        program.IsSecondSlot(end - 1) ? end - 2 : end - 1;
}
