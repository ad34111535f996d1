using System.Globalization;
using System.Reflection.Emit;
using System.Text;
using Ebpf.Analysis;
using Ebpf.Il.Emit;
using Ebpf.Isa;

namespace Ebpf.Il.Compiler;

/// <summary>
/// Compiles one eBPF function into the body of one <see cref="DynamicMethod"/>. It owns the function's locals (one
/// <c>ulong</c> per register, the frame bounds, the budget), a label per jump target, the shared exit and stop blocks
/// and the out-of-line stubs (slow memory checks, throws) placed after the body; the instruction families emit
/// through it.
/// </summary>
/// <remarks>
/// The method's arguments: 0 the <see cref="Runtime.IlClosure"/>, 1 the <see cref="Execution.RunState"/> pointer,
/// 2 the <see cref="Runtime.CallFrame"/> pointer (registers in; r0-r5 out), 3 the depth (the entry function is 1).
/// A long function is compiled one chunk at a time (see <see cref="ChunkPlan"/>): a chunk's method also takes 4 the
/// entry index, starts there, keeps the registers in the frame when control leaves the chunk and returns the pc to
/// continue at (or <see cref="Runtime.ChunkedFunction.Exit"/> / <see cref="Runtime.ChunkedFunction.Stop"/>).
/// </remarks>
internal sealed class FunctionCompiler
{
    public const int ArgClosure = 0;
    public const int ArgState = 1;
    public const int ArgFrame = 2;
    public const int ArgDepth = 3;
    public const int ArgEntry = 4;

    /// <summary>The argument of a direct entry (see <see cref="Direct"/>) holding r1.</summary>
    public const int ArgR1 = 1;

    /// <summary>The argument of a direct entry holding r2.</summary>
    public const int ArgR2 = 2;

    private readonly List<Action> stubs = new();
    private readonly Label?[] jumpLabels;
    private readonly bool[] referenced = new bool[11];
    private readonly BudgetSegments? segments;
    private readonly ChunkPlan? plan;
    private readonly int chunk;
    private readonly int rangeStart;
    private readonly int rangeEnd;
    private readonly Dictionary<int, Label> leaveLabels = new();
    private readonly LoopGuardEmitter? guards;
    private LocalBuilder? callFrame;
    private int stubCount;

    /// <summary>Compiles function <paramref name="index"/>, or only chunk <paramref name="chunk"/> of it when
    /// <paramref name="plan"/> is given. <paramref name="segments"/> are the program's budget segments (null without a budget).
    /// <paramref name="direct"/>: the whole program as a direct entry (see <see cref="Direct"/>).</summary>
    public FunctionCompiler(
        ProgramCompiler owner, int index, ILGenerator generator, StringBuilder? listing, BudgetSegments? segments, ChunkPlan? plan = null, int chunk = 0, bool direct = false)
    {
        Owner = owner;
        Direct = direct;
        Index = index;
        Function = owner.Program.Functions[index];
        Il = new IlEmitter(generator, listing);
        this.plan = plan;
        this.chunk = chunk;
        rangeStart = plan is null ? Function.Start : plan.Starts[chunk];
        rangeEnd = plan is null ? Function.End : plan.End(Function, chunk);
        jumpLabels = new Label?[rangeEnd - rangeStart];
        this.segments = segments;
        Registers = new LocalBuilder[11];
        for (int r = 0; r <= 10; r++)
        {
            Registers[r] = Il.DeclareLocal(typeof(ulong), "r" + r.ToString(CultureInfo.InvariantCulture));
        }

        Address = Il.DeclareLocal(typeof(ulong), "addr");
        StackBase = Il.DeclareLocal(typeof(ulong), "stackLow");
        InputBase = Il.DeclareLocal(typeof(ulong), "inputBase");
        Budget = direct || owner.Options.InstructionBudget is null ? null : Il.DeclareLocal(typeof(long), "budget");
        Checks = new MemoryCheckEmitter(this);
        ExitLabel = Il.DefineLabel("EXIT");
        StopLabel = Il.DefineLabel("STOP");

        // Guarded loops need their copy and the checked loop in one method: not in a function compiled in chunks.
        guards = plan is null && owner.Options.MemoryChecks && owner.Plan.Loops.Loops.Count > 0 ? new LoopGuardEmitter(this, owner.Plan.Loops) : null;
    }

    public ProgramCompiler Owner { get; }

    /// <summary>
    /// True for a direct entry (<see cref="Execution.DirectEntry"/>): the method takes the closure, r1 and r2
    /// (<see cref="ArgR1"/>, <see cref="ArgR2"/>) and returns r0; there is no run state, no frame and no budget (the
    /// program is brief and its budget, if any, covers its length, or it has loops, no budget and counts its backward
    /// jumps, see <see cref="EmitDirectStep"/>), and its only memory is the input [r1, r1 + r2).
    /// </summary>
    public bool Direct { get; }

    public int Index { get; }

    public FunctionInfo Function { get; }

    public IlEmitter Il { get; }

    /// <summary>The locals of r0-r10.</summary>
    public LocalBuilder[] Registers { get; }

    /// <summary>A scratch local holding the address of the current memory access.</summary>
    public LocalBuilder Address { get; }

    /// <summary>
    /// The lowest byte of this function's frame (r10 - stack size), kept in a local for the inline stack checks; set
    /// only when the function has some. Elsewhere <see cref="PushStackLow"/> recomputes it from the incoming frame, so
    /// that cold paths do not keep one more value alive across the hot code.
    /// </summary>
    public LocalBuilder StackBase { get; }

    /// <summary>The first byte of the input memory.</summary>
    public LocalBuilder InputBase { get; }

    /// <summary>The instructions left to run, kept in a local and written back to the run state around calls.</summary>
    public LocalBuilder? Budget { get; }

    /// <summary>The shared epilogue of every <c>exit</c>.</summary>
    public Label ExitLabel { get; }

    /// <summary>Where the function returns when a helper asked the run to stop.</summary>
    public Label StopLabel { get; }

    public ExecutionOptions Options => Owner.Options;

    public EbpfProgram Program => Owner.Program;

    public void Compile()
    {
        Il.Comment(plan is null
            ? $"function {Index}: slots {Function.Start}..{Function.End - 1}"
            : $"function {Index} chunk {chunk}: slots {rangeStart}..{rangeEnd - 1}");
        Scan();
        Prologue();
        EmitEntrySwitch();
        for (int pc = rangeStart; pc < rangeEnd; pc++)
        {
            if (Program.IsSecondSlot(pc))
            {
                continue;
            }

            if (guards?.EmitEntry(pc) != true && jumpLabels[pc - rangeStart] is { } label)
            {
                Il.MarkLabel(label);
            }

            EmitInstructionAt(pc);
        }

        // The analysis proves no reachable path runs off the end; this keeps the IL valid when the tail is unreachable.
        // A chunk other than the last falls through into the next one.
        Il.Br(rangeEnd < Function.End ? LeaveLabel(rangeEnd) : ExitLabel);
        guards?.EmitCopies();
        EmitExit();
        EmitStop();
        foreach (var stub in stubs)
        {
            stub();
        }
    }

    /// <summary>
    /// Emits the instruction at <paramref name="pc"/> (its listing comment and budget charge first); in the body, or in
    /// the unchecked copy of a guarded loop while <see cref="LoopGuardEmitter.EmitCopies"/> runs.
    /// </summary>
    public void EmitInstructionAt(int pc)
    {
        var insn = Program.Decoded[pc];
        if (Il.Recording)
        {
            Il.Comment($"pc {pc}: {insn.Raw}");
        }

        if (segments is not null && segments.LengthAt(pc) is > 0 and var length)
        {
            EmitBudgetCheck(pc, length);
        }

        EmitInstruction(pc, insn);
    }

    /// <summary>True while an unchecked loop copy is emitted (its checks are not counted again).</summary>
    public bool InLoopCopy => guards?.InCopy == true;

    /// <summary>
    /// The label a jump at <paramref name="from"/> to <paramref name="target"/> branches to: the target's label, except
    /// around guarded loops (see <see cref="LoopGuardEmitter.Target"/>).
    /// </summary>
    public Label BranchTarget(int from, int target) => guards?.Target(from, target) ?? JumpLabel(target);

    /// <summary>True when the backward jump at <paramref name="from"/> to <paramref name="target"/> leaves its cancellation poll to the head it jumps to (a guarded loop's counting copy, see <see cref="LoopGuardEmitter"/>).</summary>
    public bool HeadPolls(int from, int target) => guards?.HeadPolls(from, target) == true;

    /// <summary>The label of a jump target inside this function.</summary>
    public Label JumpLabel(int pc) => pc >= rangeStart && pc < rangeEnd ? jumpLabels[pc - rangeStart]!.Value : LeaveLabel(pc);

    /// <summary>The stub that leaves this chunk for <paramref name="pc"/> (in another chunk): the registers go to the
    /// frame, the budget to the run state, and the method returns the pc.</summary>
    private Label LeaveLabel(int pc)
    {
        if (!leaveLabels.TryGetValue(pc, out var label))
        {
            label = AddStub($"LEAVE_{pc}", () =>
            {
                SaveBudget();
                StoreRegisters(9);
                Il.LdcI8(pc);
                Il.Ret();
            });
            leaveLabels.Add(pc, label);
        }

        return label;
    }

    /// <summary>Writes the registers r0..<paramref name="last"/> this method uses to the frame.</summary>
    private void StoreRegisters(int last)
    {
        for (int r = 0; r <= last; r++)
        {
            if (referenced[r])
            {
                Il.Ldarg(ArgFrame);
                Il.Ldloc(Registers[r]);
                Il.Stfld(RuntimeMembers.FrameRegisters[r]);
            }
        }
    }

    /// <summary>In a chunk with several entries, branches to the one the entry argument names (0 is the start).</summary>
    private void EmitEntrySwitch()
    {
        if (plan is null || plan.Entries[chunk].Count < 2)
        {
            return;
        }

        var targets = plan.Entries[chunk].Select(JumpLabel).ToArray();
        Il.Ldarg(ArgEntry);
        Il.Switch(targets);
    }

    /// <summary>Adds a block of code placed after the function body (cold paths), reached by a branch to the returned label.</summary>
    public Label AddStub(string name, Action body)
    {
        var label = Il.DefineLabel($"{name}_{stubCount++}");
        stubs.Add(() =>
        {
            Il.MarkLabel(label);
            body();
        });
        return label;
    }

    /// <summary>Loads register <paramref name="r"/> as a 64-bit value.</summary>
    public void Load(int r) => Il.Ldloc(Registers[r]);

    /// <summary>Loads the low 32 bits of register <paramref name="r"/> (an int32 on the IL stack).</summary>
    public void Load32(int r)
    {
        Il.Ldloc(Registers[r]);
        Il.ConvU4();
    }

    /// <summary>Stores the 64-bit value on the stack into register <paramref name="r"/>.</summary>
    public void Store(int r) => Il.Stloc(Registers[r]);

    /// <summary>Zero-extends the int32 on the stack and stores it into register <paramref name="r"/>.</summary>
    public void Store32(int r)
    {
        Il.ConvU8();
        Il.Stloc(Registers[r]);
    }

    /// <summary>True when the access at <paramref name="pc"/> lies inside the current frame for every possible r10, so
    /// it needs no run-time check (see <see cref="Analysis.AnalysisResults.IsOwnFrameAccess(int, int)"/>).</summary>
    public bool IsInOwnFrame(int pc) => Program.Analysis.IsOwnFrameAccess(pc, Options.StackSize);

    /// <summary>
    /// True when the access at <paramref name="pc"/> gets a run-time check: memory checks are on, and it neither stays in
    /// the current frame nor is proven in bounds (<see cref="ProgramCompiler.Plan"/>), nor is a guarded access in a loop's
    /// unchecked copy.
    /// </summary>
    public bool NeedsCheck(int pc) =>
        Options.MemoryChecks && !IsInOwnFrame(pc) && !Owner.Plan.IsProven(pc) && guards?.SkipsCheck(pc) != true;

    /// <summary>The limit local for input accesses of <paramref name="size"/> bytes (see <see cref="Execution.MemoryGuard.Limit"/>).</summary>
    public LocalBuilder InputLimit(int size) => Checks.InputLimit(size);

    /// <summary>The memory checks of this function.</summary>
    public MemoryCheckEmitter Checks { get; }

    /// <summary>A local holding the registers passed to a local call.</summary>
    public LocalBuilder CallFrameLocal => callFrame ??= Il.DeclareLocal(typeof(Runtime.CallFrame), "callFrame");

    /// <summary>Pushes the lowest byte of this function's frame: its r10 (as it came in the frame) minus the frame size.</summary>
    public void PushStackLow()
    {
        if (Direct)
        {
            throw new InvalidOperationException("a direct entry has no stack frame");
        }

        Il.Ldarg(ArgFrame);
        Il.Ldfld(RuntimeMembers.FrameRegisters[10]);
        Il.LdcI8(Options.StackSize);
        Il.Sub();
    }

    /// <summary>Writes the budget local back to the run state (before anything that may read or continue it).</summary>
    public void SaveBudget()
    {
        if (Budget is null)
        {
            return;
        }

        Il.Ldarg(ArgState);
        Il.Ldloc(Budget);
        Il.Stfld(RuntimeMembers.StateBudgetRemaining);
    }

    /// <summary>Reloads the budget local from the run state (after a local call spent some).</summary>
    public void LoadBudget()
    {
        if (Budget is null)
        {
            return;
        }

        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateBudgetRemaining);
        Il.Stloc(Budget);
    }

    /// <summary>
    /// Before a backward jump at <paramref name="pc"/>: a volatile read of <see cref="Execution.RunState.CancelRequested"/> and a
    /// branch to a cold stub that throws the cancellation (every endless loop passes a backward jump).
    /// </summary>
    public void EmitCancelPoll(int pc)
    {
        if (Direct)
        {
            EmitDirectStep();
            return;
        }

        var cancelled = AddStub($"CANCEL_{pc}", () =>
        {
            Il.Ldarg(ArgClosure);
            Il.Ldarg(ArgState);
            Il.LdcI4(pc);
            Il.Call(RuntimeMembers.Cancelled);
            Il.Throw();
        });
        Il.Ldarg(ArgState);
        Il.Volatile();
        Il.Ldfld(RuntimeMembers.StateCancelRequested);
        Il.Brtrue(cancelled);
    }

    /// <summary>
    /// Before a backward jump of a restartable direct entry (see <see cref="Execution.DirectEntry.QualifiesWithLoops"/>):
    /// counts the jump down from <see cref="Execution.DirectEntry.LoopSteps"/> and, when the count is spent, returns what
    /// the run from the start on the plain path returns (<see cref="Runtime.IlRuntime.RestartDirect"/>). A direct entry has no
    /// run state to poll: this bounds how long it runs unwatched.
    /// </summary>
    private void EmitDirectStep()
    {
        var steps = directSteps!;
        restartLabel ??= AddStub("RESTART", () =>
        {
            Il.Ldarg(ArgClosure);
            Il.Ldarg(ArgR1);
            Il.Ldarg(ArgR2);
            Il.Call(RuntimeMembers.RestartDirect);
            Il.Ret();
        });
        Il.Ldloc(steps);
        Il.LdcI4(1);
        Il.Sub();
        Il.Dup();
        Il.Stloc(steps);
        Il.Brfalse(restartLabel.Value);
    }

    /// <summary>The backward jumps a restartable direct entry has left (see <see cref="EmitDirectStep"/>); null elsewhere.</summary>
    private LocalBuilder? directSteps;

    /// <summary>The stub of a restartable direct entry that hands the run to the plain path (see <see cref="EmitDirectStep"/>).</summary>
    private Label? restartLabel;

    /// <summary>Ends the function when a helper (directly or in a callee) asked the run to stop.</summary>
    public void EmitStopCheck()
    {
        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateStopRequested);
        Il.Brtrue(StopLabel);
    }

    private void Scan()
    {
        referenced[0] = true;
        if (plan is not null)
        {
            foreach (int entry in plan.Entries[chunk])
            {
                jumpLabels[entry - rangeStart] ??= Il.DefineLabel($"L_{entry}");
            }
        }

        for (int pc = rangeStart; pc < rangeEnd; pc++)
        {
            if (Program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = Program.Decoded[pc];
            referenced[insn.Dst] = true;
            referenced[insn.Src] = true;
            if (insn.IsJump)
            {
                int target = insn.Target;
                if (target >= rangeStart && target < rangeEnd)
                {
                    jumpLabels[target - rangeStart] ??= Il.DefineLabel($"L_{target}");
                }
            }
            else if (insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal)
            {
                int last = insn.Operation == Operation.CallLocal ? 10 : 5;
                for (int r = 0; r <= last; r++)
                {
                    referenced[r] = true;
                }
            }

            if (insn.IsMemoryAccess && NeedsCheck(pc))
            {
                Checks.Declare(pc, insn.AccessSize);
            }
            else if (insn.IsPacketLoad)
            {
                Checks.DeclareInput(insn.AccessSize);
            }
        }

        if (guards is not null)
        {
            foreach (int pc in guards.LabelledPcs())
            {
                jumpLabels[pc - rangeStart] ??= Il.DefineLabel($"L_{pc}");
            }
        }
    }

    private void Prologue()
    {
        if (Direct)
        {
            DirectPrologue();
            return;
        }

        for (int r = 0; r <= 10; r++)
        {
            if (referenced[r] || r == 10)
            {
                // r10 is always needed: the frame bounds come from it.
                Il.Ldarg(ArgFrame);
                Il.Ldfld(RuntimeMembers.FrameRegisters[r]);
                Il.Stloc(Registers[r]);
            }
        }

        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateInputAddress);
        Il.Stloc(InputBase);
        Checks.EmitPrologue();
        LoadBudget();
    }

    /// <summary>
    /// The prologue of a direct entry: r1 and r2 from the arguments, the other registers it names zero, the input is r1;
    /// for a program that reaches a frame through r10 (see <see cref="Execution.DirectEntry.FrameBytes"/>), r10 the top
    /// of a block of that many bytes allocated on this method's frame, zeroed (dynamic methods initialise their locals,
    /// <c>localloc</c> included) and gone when the run returns.
    /// </summary>
    private void DirectPrologue()
    {
        int frame = Execution.DirectEntry.FrameBytes(Program, Options);
        if (frame > 0)
        {
            Il.LdcI4(frame);
            Il.Localloc();
            Il.LdcI4(frame);
            Il.Add();
            Il.ConvU8();
            Il.Stloc(Registers[10]);
        }

        for (int r = 0; r <= 9; r++)
        {
            if (referenced[r])
            {
                if (r is 1 or 2)
                {
                    Il.Ldarg(r == 1 ? ArgR1 : ArgR2);
                }
                else
                {
                    Il.LdcI8(0);
                }

                Il.Stloc(Registers[r]);
            }
        }

        Il.Ldarg(ArgR1);
        Il.Stloc(InputBase);
        Checks.EmitPrologue();
        if (HasBackwardJump())
        {
            directSteps = Il.DeclareLocal(typeof(int), "steps");
            Il.LdcI4(Execution.DirectEntry.LoopSteps);
            Il.Stloc(directSteps);
        }
    }

    /// <summary>True when a jump of this function goes backward (a direct entry then counts them, see <see cref="EmitDirectStep"/>).</summary>
    private bool HasBackwardJump() => Execution.BriefCode.HasBackwardJump(Program, rangeStart, rangeEnd);

    /// <summary>
    /// Pushes a field of the run's memory the checks compare against: from the run state, or in a direct entry from
    /// its arguments (the input is the context there: r1 / r2).
    /// </summary>
    public void PushRunField(System.Reflection.FieldInfo field)
    {
        if (!Direct)
        {
            Il.Ldarg(ArgState);
            Il.Ldfld(field);
        }
        else if (field == RuntimeMembers.StateInputAddress || field == RuntimeMembers.StateContextAddress)
        {
            Il.Ldarg(ArgR1);
        }
        else if (field == RuntimeMembers.StateInputLength || field == RuntimeMembers.StateContextLength)
        {
            Il.Ldarg(ArgR2);
        }
        else
        {
            throw new InvalidOperationException($"a direct entry has no {field.Name}");
        }
    }

    /// <summary>
    /// Charges a segment: <c>budget -= length; if (budget &lt; 0)</c> fail with what was left before the charge, from
    /// which the error names the exact instruction (a subtraction and a branch on its sign in the hot path).
    /// </summary>
    private void EmitBudgetCheck(int pc, int length)
    {
        var budget = Budget!;
        var fail = AddStub("BUDGET", () =>
        {
            Il.Ldarg(ArgClosure);
            Il.LdcI4(pc);
            Il.Ldloc(budget);
            Il.LdcI8(length);
            Il.Add();
            Il.Call(RuntimeMembers.BudgetExceeded);
            Il.Throw();
        });
        Il.Ldloc(budget);
        Il.LdcI8(length);
        Il.Sub();
        Il.Dup();
        Il.Stloc(budget);
        Il.LdcI8(0);
        Il.Blt(fail);
    }

    private void EmitInstruction(int pc, DecodedInstruction insn)
    {
        switch (insn.Operation)
        {
            case >= Operation.Add and <= Operation.Bswap64:
                AluEmitter.Emit(this, pc, insn);
                break;
            case >= Operation.Ja and <= Operation.Jsle:
                JumpEmitter.Emit(this, pc, insn);
                break;
            case Operation.CallHelper or Operation.CallLocal or Operation.CallX:
                CallEmitter.Emit(this, pc, insn);
                break;
            case Operation.Exit:
                Il.Br(ExitLabel);
                break;
            case Operation.Lddw:
                Il.LdcU8(Owner.Environment.ResolveLddw(IlEngine.EngineName, Program, pc));
                Store(insn.Dst);
                break;
            case Operation.LoadAbsolute or Operation.LoadIndirect:
                MemoryEmitter.EmitPacketLoad(this, pc, insn);
                break;
            case Operation.Load or Operation.LoadSignExtend:
                MemoryEmitter.EmitLoad(this, pc, insn);
                break;
            case Operation.Store:
                MemoryEmitter.EmitStore(this, pc, insn);
                break;
            default:
                AtomicEmitter.Emit(this, pc, insn);
                break;
        }
    }

    private void EmitExit()
    {
        Il.MarkLabel(ExitLabel);
        if (Direct)
        {
            Il.Ldloc(Registers[0]);
            Il.Ret();
            return;
        }

        SaveBudget();
        StoreRegisters(5);
        if (plan is null)
        {
            Il.Ldloc(Registers[0]);
        }
        else
        {
            Il.LdcU8(Runtime.ChunkedFunction.Exit);
        }

        Il.Ret();
    }

    private void EmitStop()
    {
        if (Direct)
        {
            // Brief code calls nothing that could ask for a stop.
            return;
        }

        Il.MarkLabel(StopLabel);
        SaveBudget();
        if (plan is null)
        {
            Il.Ldarg(ArgState);
            Il.Ldfld(RuntimeMembers.StateStopValue);
        }
        else
        {
            Il.LdcU8(Runtime.ChunkedFunction.Stop);
        }

        Il.Ret();
    }
}
