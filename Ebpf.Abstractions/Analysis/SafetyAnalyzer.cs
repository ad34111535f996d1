using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// The abstract interpreter behind <see cref="SafetyAnalysis"/>: runs the program over <see cref="AbstractState"/>s
/// from the entry state (r1 = input pointer, r2 = input length, r10 = frame pointer, everything else uninitialised;
/// with a <see cref="ContextLayout"/>, r1 = context pointer and r2 uninitialised),
/// joining states where control flow meets (jump targets and call return points, per chain of active calls) and
/// widening after <see cref="WidenAfter"/> visits so loops converge. Straight-line code is interpreted once per state
/// that reaches it, so the time grows linearly with the program when loops converge quickly.
/// </summary>
internal sealed partial class SafetyAnalyzer
{
    /// <summary>The visits of a join point after which growing bounds are widened to their extremes.</summary>
    internal const int WidenAfter = 3;

    /// <summary>The largest input length assumed (a .NET span is at most int.MaxValue bytes).</summary>
    internal const long MaxInputLength = int.MaxValue;

    private const int MaxLogChars = 16 << 20;

    /// <summary>How many analyses this thread has run (for tests: a load that hands its analysis on analyses once).</summary>
    [ThreadStatic]
    internal static int RunsOnThisThread;

    private readonly EbpfProgram program;
    private readonly ImmutableArray<DecodedInstruction> code;
    private readonly SafetyContext context;
    private readonly StringBuilder? log;
    private readonly AccessProof[] accesses;
    private readonly bool[] joinPoint;
    private readonly bool[] loopHead;
    private readonly Dictionary<(int Pc, string Chain), (AbstractState State, int Visits)> joins = new();
    private readonly PriorityQueue<(int Pc, string Chain), int> queue = new();
    private readonly HashSet<(int Pc, string Chain)> queued = new();
    private readonly List<SafetyFinding> errors = new();
    private readonly List<SafetyFinding> unproven = new();
    private readonly List<SafetyFinding> refusals = new();
    private readonly Dictionary<(List<SafetyFinding> List, int Pc), int> reported = new();
    private readonly long maxSteps;
    private long steps;
    private bool gaveUp;

    /// <summary>The deepest byte below the entry function's r10 a helper call was proven to write (see <see cref="SafetyAnalysis.HelperStackWriteBytes"/>).</summary>
    private long helperStackWriteBytes;

    /// <summary>Set when some helper call may write stack bytes the analysis cannot place (then there is no bound).</summary>
    private bool helperWritesUnplaced;

    private readonly FindingDetails? details;
    private readonly Func<int, string> instructionText;

    private SafetyAnalyzer(EbpfProgram program, SafetyContext context, bool withLog, bool withStates)
    {
        details = withLog || withStates ? null : new FindingDetails(program, context);
        instructionText = details is null ? Text : details.Text;
        this.program = program;
        this.context = context;
        code = program.Decoded;
        log = withLog ? new StringBuilder() : null;
        accesses = new AccessProof[code.Length];
        joinPoint = new bool[code.Length];
        loopHead = new bool[code.Length];
        maxSteps = Math.Max(1_000_000, 64L * code.Length);
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (program.IsJumpTarget(pc))
            {
                joinPoint[pc] = true;
            }

            if (insn.IsJump && insn.Target <= pc)
            {
                loopHead[insn.Target] = true;
            }

            if (insn.Operation == Operation.CallLocal && pc + 1 < code.Length)
            {
                joinPoint[pc + 1] = true;
            }

            if (insn.PseudoSource == LddwSource.CodeAddress)
            {
                // A callback's entry: a helper may run it again and again, so its states widen like a loop's.
                int start = (int)ProgramAnalysis.CodeAddressTarget(pc, insn.Raw);
                joinPoint[start] = true;
                loopHead[start] = true;
            }

            if (insn.Operation == Operation.CallHelper && context.TryGetHelper((uint)insn.Imm, out var signature) && signature is { CallsBack: true })
            {
                // Its callback returns to the call (which may run it again); the states after it meet after the call.
                joinPoint[pc] = true;
                if (pc + 1 < code.Length)
                {
                    joinPoint[pc + 1] = true;
                }
            }

            if (insn.IsMemoryAccess)
            {
                accesses[pc] = new AccessProof(AccessOutcome.Unreachable, ValueKind.Uninitialized, 0, 0, insn.AccessSize);
            }
        }
    }

    /// <summary>
    /// Analyses <paramref name="program"/> under <paramref name="context"/>, with the verifier log when
    /// <paramref name="withLog"/>. The findings keep a snapshot of the state when <paramref name="withLog"/> or
    /// <paramref name="withStates"/>; otherwise their state lines come from a re-run when first read.
    /// </summary>
    internal static SafetyAnalysis Analyze(EbpfProgram program, SafetyContext context, bool withLog, bool withStates = false)
    {
        RunsOnThisThread++;
        var analyzer = new SafetyAnalyzer(program, context, withLog, withStates);
        analyzer.Run();
        if (analyzer.gaveUp)
        {
            analyzer.Unconclude();
        }

        return new SafetyAnalysis(analyzer.accesses, [.. analyzer.errors], [.. analyzer.unproven], analyzer.log?.ToString(), analyzer.ProvenContextFields())
        {
            LoadRefusals = [.. analyzer.refusals],
            HelperStackWriteBytes = analyzer.gaveUp || analyzer.helperWritesUnplaced ? null : (int)analyzer.helperStackWriteBytes,
        };
    }

    /// <summary>
    /// After the step budget ran out the states reached are not a fixed point (a loop or a return point may not have
    /// seen every path yet), so what was concluded from them holds nothing: every access reached becomes unknown.
    /// </summary>
    private void Unconclude()
    {
        for (int pc = 0; pc < accesses.Length; pc++)
        {
            if (accesses[pc].Outcome is AccessOutcome.Proven or AccessOutcome.Refuted)
            {
                accesses[pc] = accesses[pc] with { Outcome = AccessOutcome.Unknown };
            }
        }
    }

    private void Run()
    {
        if (!Execute(0, EntryState()))
        {
            return;
        }

        while (queue.TryDequeue(out var key, out _))
        {
            queued.Remove(key);
            if (!Execute(key.Pc, Take(key)))
            {
                return;
            }
        }
    }

    private AbstractState EntryState()
    {
        var registers = new AbstractValue[11];
        Array.Fill(registers, AbstractValue.Uninitialized);
        EntryRegisters(registers);
        registers[10] = FramePointer(0);
        return new AbstractState(registers, [new FrameState(context.StackSize, null, -1)], 0);
    }

    private static AbstractValue FramePointer(int depth) => new(ValueKind.Stack, ScalarRange.Constant(0), Frame: depth);

    /// <summary>
    /// Runs from <paramref name="pc"/> until the path ends or reaches a join point, where its state is merged (see
    /// <see cref="Merge"/>). False when the step budget ran out (reported as unproven).
    /// </summary>
    private bool Execute(int pc, AbstractState state)
    {
        while (true)
        {
            if (++steps > maxSteps)
            {
                Unproven(pc, $"the analysis gave up after {maxSteps} steps; no access is proven");
                gaveUp = true;
                return false;
            }

            var insn = code[pc];
            current = state;
            if (log is not null && log.Length < MaxLogChars)
            {
                log.Append(CultureInfo.InvariantCulture, $"{pc}: {Text(pc)}\n    ; {state}\n");
            }

            int next = Step(pc, insn, state);
            if (next < 0)
            {
                return true;
            }

            if (joinPoint[next])
            {
                Merge(next, state);
                return true;
            }

            pc = next;
        }
    }

    /// <summary>
    /// The state to run from a dequeued join point. A loop head keeps its joined state (later arrivals join and widen
    /// against it), so it runs a copy. Any other join point gives its state away: the queue runs the lowest pc first,
    /// so every path into it from below has arrived; a path that arrives later (around a loop) starts a new entry and
    /// runs again, which costs time, never soundness, and happens only when a loop head changed.
    /// </summary>
    private AbstractState Take((int Pc, string Chain) key)
    {
        if (loopHead[key.Pc])
        {
            return joins[key].State.Clone();
        }

        joins.Remove(key, out var entry);
        return entry.State;
    }

    /// <summary>
    /// Joins <paramref name="state"/> (which the caller gives up) into what is known at the join point
    /// <paramref name="pc"/> for its call chain, widening after <see cref="WidenAfter"/> changes, and queues the join
    /// point when that changed anything. The queue runs the lowest pc first, so both sides of a diamond meet before
    /// the code after it runs: each block runs about once per change of its entry state.
    /// </summary>
    private void Merge(int pc, AbstractState state)
    {
        var key = (pc, state.CallChain);
        if (joins.TryGetValue(key, out var seen))
        {
            var joined = seen.State.Join(state, seen.Visits >= WidenAfter);
            if (loopHead[pc])
            {
                LinkStrides(joined, seen.State, state);
            }

            if (joined.Equivalent(seen.State))
            {
                return;
            }

            joins[key] = (joined, seen.Visits + 1);
        }
        else
        {
            joins[key] = (state, 1);
        }

        if (queued.Add(key))
        {
            queue.Enqueue(key, pc);
        }
    }

    /// <summary>Interprets one instruction on <paramref name="state"/> (in place); returns the next pc, or -1 when the path ends.</summary>
    private int Step(int pc, in DecodedInstruction insn, AbstractState state)
    {
        int next = pc + insn.Length;
        switch (insn.Operation)
        {
            case >= Operation.Add and <= Operation.Bswap64:
                return Alu(pc, insn, state) ? next : -1;
            case Operation.Lddw:
                state.Registers[insn.Dst] = Lddw(pc, insn);
                return next;
            case Operation.Load or Operation.LoadSignExtend or Operation.Store or >= Operation.AtomicAdd:
                return Memory(pc, insn, state) ? next : -1;
            case Operation.LoadAbsolute or Operation.LoadIndirect:
                if (insn.Operation == Operation.LoadIndirect && !Read(pc, state, insn.Src, out _))
                {
                    return -1;
                }

                state.Registers[0] = AbstractValue.Scalar(ScalarRange.OfWidth(insn.AccessSize * 8));
                return next;
            case Operation.Ja or Operation.Ja32:
                return insn.Target;
            case >= Operation.Jeq and <= Operation.Jsle:
                return Branch(pc, insn, state);
            case Operation.CallHelper or Operation.CallX:
                return HelperCall(pc, insn, state) ? next : -1;
            case Operation.CallLocal:
                return LocalCall(pc, insn, state);
            case Operation.Exit:
                return Exit(pc, state);
            default:
                return next;
        }
    }

    private AbstractValue Lddw(int pc, in DecodedInstruction insn)
    {
        var source = insn.PseudoSource;
        if (source == LddwSource.Immediate)
        {
            return AbstractValue.Constant(insn.Value);
        }

        if (source == LddwSource.CodeAddress)
        {
            return new AbstractValue(ValueKind.Function, ScalarRange.Constant((ulong)ProgramAnalysis.CodeAddressTarget(pc, insn.Raw)));
        }

        var map = source is LddwSource.MapByFd or LddwSource.MapByIndex or LddwSource.MapValueByFd or LddwSource.MapValueByIndex
            ? context.Maps?.Invoke(source, insn.Imm)
            : null;
        return source switch
        {
            LddwSource.MapByFd or LddwSource.MapByIndex => new AbstractValue(ValueKind.MapPointer, ScalarRange.Constant(0), Map: map),
            // the values of a map of maps are inner-map handles, not memory a proof could name
            LddwSource.MapValueByFd or LddwSource.MapValueByIndex when map is { HoldsMaps: false } => new AbstractValue(
                map.IsGlobalData ? ValueKind.Global : ValueKind.MapValue, ScalarRange.Constant((ulong)(long)(int)(insn.Value >> 32)), Map: map),
            _ => AbstractValue.UnknownValue,
        };
    }

    /// <summary>Reads register <paramref name="r"/>; an uninitialised one is an error that ends the path.</summary>
    private bool Read(int pc, AbstractState state, int r, out AbstractValue value)
    {
        value = state.Registers[r];
        if (value.Kind == ValueKind.Uninitialized)
        {
            Error(pc, $"r{r} is read before it is written (uninitialised on some path)");
            return false;
        }

        return true;
    }

    private string Text(int pc) => FindingDetails.Text(program, pc);

    private void Error(int pc, string message) => Report(errors, pc, message, "error");

    private AbstractState? current;

    private void Unproven(int pc, string message) => Report(unproven, pc, message, "unproven");

    /// <summary>An unproven point the kernel's loader refuses outright (see <see cref="SafetyAnalysis.LoadRefusals"/>).</summary>
    private void Refuse(int pc, string message)
    {
        Unproven(pc, message);
        Report(refusals, pc, message, null);
    }

    private void Report(List<SafetyFinding> list, int pc, string message, string? what)
    {
        if (what is not null)
        {
            log?.Append(CultureInfo.InvariantCulture, $"    {what}: {message}\n");
        }

        if (!reported.TryGetValue((list, pc), out int index))
        {
            index = list.Count;
            reported[(list, pc)] = index;
            list.Add(null!);
        }

        // a later visit sees a more general state: its account replaces the earlier one
        bool error = list == errors;
        list[index] = (details, current) switch
        {
            ({ } d, _) => new SafetyFinding(pc, instructionText, message, () => d.State(error, index, pc)),
            (null, { } state) => new SafetyFinding(pc, instructionText, message, state.Snapshot().ToString),
            _ => new SafetyFinding(pc, Text(pc), message, string.Empty),
        };
    }
}
