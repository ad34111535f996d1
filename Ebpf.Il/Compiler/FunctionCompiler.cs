using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Text;
using Ebpf.Il.Emit;
using Ebpf.Isa;
using OpCodes = Ebpf.Isa.OpCodes;

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
/// </remarks>
internal sealed class FunctionCompiler
{
    public const int ArgClosure = 0;
    public const int ArgState = 1;
    public const int ArgFrame = 2;
    public const int ArgDepth = 3;

    private static readonly int[] AccessSizes = [1, 2, 4, 8];

    /// <summary>How many entries of the environment's region table the cold path checks inline (the rest by a call).</summary>
    private const int UnrolledRegions = 4;

    private readonly List<Action> stubs = new();
    private readonly Label?[] jumpLabels;
    private readonly bool[] referenced = new bool[11];
    private readonly LocalBuilder?[,] limits = new LocalBuilder?[3, 9];
    private readonly AccessRegion[] accessRegions;
    private LocalBuilder? contextBase;
    private LocalBuilder? regionPointer;
    private LocalBuilder? regionIndex;
    private readonly int[] segments;
    private LocalBuilder? callFrame;
    private int stubCount;

    public FunctionCompiler(ProgramCompiler owner, int index, ILGenerator generator, StringBuilder? listing)
    {
        Owner = owner;
        Index = index;
        Function = owner.Program.Functions[index];
        Il = new IlEmitter(generator, listing);
        jumpLabels = new Label?[Function.Length];
        segments = owner.Options.InstructionBudget is null ? [] : BudgetPlan.Segments(owner.Program, Function, owner.Options.MemoryChecks);
        accessRegions = owner.Options.MemoryChecks ? AccessRegionGuess.Guess(owner.Program, Function, index == 0) : [];
        Registers = new LocalBuilder[11];
        for (int r = 0; r <= 10; r++)
        {
            Registers[r] = Il.DeclareLocal(typeof(ulong), "r" + r.ToString(CultureInfo.InvariantCulture));
        }

        Address = Il.DeclareLocal(typeof(ulong), "addr");
        StackBase = Il.DeclareLocal(typeof(ulong), "stackLow");
        InputBase = Il.DeclareLocal(typeof(ulong), "inputBase");
        Budget = owner.Options.InstructionBudget is null ? null : Il.DeclareLocal(typeof(long), "budget");
        ExitLabel = Il.DefineLabel("EXIT");
        StopLabel = Il.DefineLabel("STOP");
    }

    public ProgramCompiler Owner { get; }

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
        Il.Comment($"function {Index}: slots {Function.Start}..{Function.End - 1}");
        Scan();
        Prologue();
        for (int pc = Function.Start; pc < Function.End; pc++)
        {
            if (Program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = Program.Instructions[pc];
            if (jumpLabels[pc - Function.Start] is { } label)
            {
                Il.MarkLabel(label);
            }

            if (Il.Recording)
            {
                Il.Comment($"pc {pc}: {insn}");
            }

            if (Budget is not null && segments[pc - Function.Start] is > 0 and var length)
            {
                EmitBudgetCheck(pc, length);
            }

            EmitInstruction(pc, insn);
        }

        // The analysis proves no reachable path runs off the end; this keeps the IL valid when the tail is unreachable.
        Il.Br(ExitLabel);
        EmitExit();
        EmitStop();
        foreach (var stub in stubs)
        {
            stub();
        }
    }

    /// <summary>The label of a jump target inside this function.</summary>
    public Label JumpLabel(int pc) => jumpLabels[pc - Function.Start]!.Value;

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

    /// <summary>
    /// Checks <c>[Address, Address + size)</c> unless memory checks are off. The hot path is one inline comparison,
    /// against the region the address most likely lies in (see <see cref="AccessRegionGuess"/>). The cold path, placed
    /// after the body, tries every region in IL (stack frames, input, metadata, the environment's table), so no path that continues
    /// makes a call (a call there would make RyuJIT spill the register locals around the hot loop); only the failing
    /// end calls out, to build the interpreter's violation error at <paramref name="pc"/>, and throws.
    /// </summary>
    public void EmitCheck(int pc, int size, MemoryAccessKind access)
    {
        if (!Options.MemoryChecks)
        {
            return;
        }

        var region = accessRegions[pc - Function.Start];
        var ok = Il.DefineLabel($"OK_{pc}");
        var slow = AddStub("SLOWCHECK", () => EmitSlowCheck(pc, size, access, ok));
        Il.Ldloc(Address);
        Il.Ldloc(region switch
        {
            AccessRegion.Stack => StackBase,
            AccessRegion.Context => contextBase!,
            _ => InputBase,
        });
        Il.Sub();
        Il.Ldloc(limits[(int)region, size]!);
        Il.BgeUn(slow);
        Il.MarkLabel(ok);
    }

    /// <summary>The cold half of <see cref="EmitCheck"/>: the metadata, then a loop over the region table, then the error.</summary>
    private void EmitSlowCheck(int pc, int size, MemoryAccessKind access, Label ok)
    {
        var regions = Il.DefineLabel($"REGIONS_{pc}");
        var region = regionPointer ??= Il.DeclareLocal(typeof(nint), "region");
        var fail = Il.DefineLabel($"VIOLATION_{pc}");
        var metadata = Il.DefineLabel($"METADATA_{pc}");

        // stack frames [stackLow, StackEnd), never shorter than the access: address - stackLow <= (StackEnd - stackLow) - size
        Il.Ldloc(Address);
        PushStackLow();
        Il.Sub();
        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateStackEnd);
        PushStackLow();
        Il.Sub();
        Il.LdcI8(size);
        Il.Sub();
        Il.BleUn(ok);

        EmitStateRangeTest(RuntimeMembers.StateInputAddress, RuntimeMembers.StateInputLength, size, ok, metadata);
        Il.MarkLabel(metadata);
        EmitStateRangeTest(RuntimeMembers.StateMetadataAddress, RuntimeMembers.StateMetadataLength, size, ok, regions);

        // The environment's first regions, unrolled: RyuJIT weighs a loop as hot and would give it the registers the
        // eBPF registers need (a call would be worse: everything live across it would be spilled), so only a table
        // longer than that reaches the loop below, placed behind enough branches to look cold.
        Il.MarkLabel(regions);
        for (int i = 0; i < UnrolledRegions; i++)
        {
            var next = Il.DefineLabel($"REGION{i}_{pc}_NEXT");
            Il.Ldarg(ArgState);
            Il.Ldfld(RuntimeMembers.StateRegionCount);
            Il.LdcI4(i);
            Il.Ble(fail);
            Il.Ldarg(ArgState);
            Il.Ldfld(RuntimeMembers.StateRegions);
            if (i != 0)
            {
                Il.LdcI4(i * RuntimeMembers.RegionSize);
                Il.Add();
            }

            Il.Stloc(region);
            EmitRegionTest(region, size, access, ok, next);
            Il.MarkLabel(next);
        }

        // for (i = UnrolledRegions; i < RegionCount; i++) if (Regions[i] allows the access) goto ok;
        var index = regionIndex ??= Il.DeclareLocal(typeof(int), "regionIndex");
        var loop = Il.DefineLabel($"REGIONLOOP_{pc}");
        var loopNext = Il.DefineLabel($"REGIONLOOP_{pc}_NEXT");
        Il.LdcI4(UnrolledRegions);
        Il.Stloc(index);
        Il.MarkLabel(loop);
        Il.Ldloc(index);
        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateRegionCount);
        Il.Bge(fail);
        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateRegions);
        Il.Ldloc(index);
        Il.ConvI();
        Il.LdcI4(RuntimeMembers.RegionSize);
        Il.ConvI();
        Il.Mul();
        Il.Add();
        Il.Stloc(region);
        EmitRegionTest(region, size, access, ok, loopNext);
        Il.MarkLabel(loopNext);
        Il.Ldloc(index);
        Il.LdcI4(1);
        Il.Add();
        Il.Stloc(index);
        Il.Br(loop);

        Il.MarkLabel(fail);
        Il.Ldarg(ArgClosure);
        Il.Ldarg(ArgState);
        Il.Ldloc(Address);
        Il.LdcI4(size);
        Il.LdcI4((int)access);
        PushStackLow();
        Il.LdcI4(pc);
        Il.Call(RuntimeMembers.Violation);
        Il.Throw();
    }

    /// <summary>True when an access of <paramref name="size"/> bytes at r10 + <paramref name="offset"/> lies inside the
    /// current frame for every possible r10, so it needs no run-time check.</summary>
    public bool IsInOwnFrame(int baseRegister, int offset, int size) =>
        baseRegister == 10 && offset >= -Options.StackSize && offset + size <= 0;

    /// <summary>The limit local for input accesses of <paramref name="size"/> bytes (see <see cref="Runtime.IlRuntime.Limit"/>).</summary>
    public LocalBuilder InputLimit(int size) => limits[(int)AccessRegion.Input, size]!;

    /// <summary>A local holding the registers passed to a local call.</summary>
    public LocalBuilder CallFrameLocal => callFrame ??= Il.DeclareLocal(typeof(Runtime.CallFrame), "callFrame");

    /// <summary>
    /// Branches to <paramref name="ok"/> when the access lies in the run-state range <paramref name="start"/> /
    /// <paramref name="length"/> (input or metadata): length &gt;= size and address - start &lt;= length - size; else
    /// continues, or branches to <paramref name="tooShort"/> when the range cannot hold the access at all.
    /// </summary>
    private void EmitStateRangeTest(FieldInfo start, FieldInfo length, int size, Label ok, Label tooShort)
    {
        Il.Ldarg(ArgState);
        Il.Ldfld(length);
        Il.LdcI8(size);
        Il.BltUn(tooShort);
        Il.Ldloc(Address);
        Il.Ldarg(ArgState);
        Il.Ldfld(start);
        Il.Sub();
        Il.Ldarg(ArgState);
        Il.Ldfld(length);
        Il.LdcI8(size);
        Il.Sub();
        Il.BleUn(ok);
    }

    /// <summary>Branches to <paramref name="ok"/> when the region at <paramref name="region"/> allows the access, else to <paramref name="next"/>.</summary>
    private void EmitRegionTest(LocalBuilder region, int size, MemoryAccessKind access, Label ok, Label next)
    {
        // length >= size && address - start <= length - size (&& writable, for writes)
        Il.Ldloc(region);
        Il.Ldfld(RuntimeMembers.RegionLength);
        Il.LdcI8(size);
        Il.BltUn(next);
        Il.Ldloc(Address);
        Il.Ldloc(region);
        Il.Ldfld(RuntimeMembers.RegionAddress);
        Il.Sub();
        Il.Ldloc(region);
        Il.Ldfld(RuntimeMembers.RegionLength);
        Il.LdcI8(size);
        Il.Sub();
        Il.BgtUn(next);
        if (access == MemoryAccessKind.Read)
        {
            Il.Br(ok);
        }
        else
        {
            Il.Ldloc(region);
            Il.Ldfld(RuntimeMembers.RegionWritable);
            Il.Brtrue(ok);
            Il.Br(next);
        }
    }

    /// <summary>Pushes the lowest byte of this function's frame: its r10 (as it came in the frame) minus the frame size.</summary>
    public void PushStackLow()
    {
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
        for (int pc = Function.Start; pc < Function.End; pc++)
        {
            if (Program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = Program.Instructions[pc];
            referenced[insn.Dst] = true;
            referenced[insn.Src] = true;
            if (OpCodeTable.IsJump(insn.OpCode))
            {
                int target = (int)OpCodeTable.JumpTarget(insn, pc);
                jumpLabels[target - Function.Start] ??= Il.DefineLabel($"L_{target}");
            }
            else if (insn.OpCode is OpCodes.Call or OpCodes.CallX)
            {
                int last = OpCodeTable.IsLocalCall(insn) ? 10 : 5;
                for (int r = 0; r <= last; r++)
                {
                    referenced[r] = true;
                }
            }

            switch (insn.Class)
            {
                case InstructionClass.Ldx or InstructionClass.St or InstructionClass.Stx when Options.MemoryChecks:
                    DeclareLimit(accessRegions[pc - Function.Start], insn.AccessBytes);
                    break;
                case InstructionClass.Ld when insn.OpCode != OpCodes.Lddw:
                    DeclareLimit(AccessRegion.Input, insn.AccessBytes);
                    break;
            }
        }
    }

    private void DeclareLimit(AccessRegion region, int size)
    {
        limits[(int)region, size] ??= Il.DeclareLocal(typeof(ulong), $"{region.ToString().ToLowerInvariant()}Limit{size}");
        if (region == AccessRegion.Context)
        {
            contextBase ??= Il.DeclareLocal(typeof(ulong), "contextBase");
        }
    }

    private void Prologue()
    {
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

        if (limits[(int)AccessRegion.Stack, 1] is not null || limits[(int)AccessRegion.Stack, 2] is not null
            || limits[(int)AccessRegion.Stack, 4] is not null || limits[(int)AccessRegion.Stack, 8] is not null)
        {
            PushStackLow();
            Il.Stloc(StackBase);
        }

        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateInputAddress);
        Il.Stloc(InputBase);
        if (contextBase is not null)
        {
            Il.Ldarg(ArgState);
            Il.Ldfld(RuntimeMembers.StateContextAddress);
            Il.Stloc(contextBase);
        }

        foreach (int size in AccessSizes)
        {
            if (limits[(int)AccessRegion.Stack, size] is { } stackLimit)
            {
                // The frames [stackLow, StackEnd) are at least one frame long, so the limit never underflows.
                Il.Ldarg(ArgState);
                Il.Ldfld(RuntimeMembers.StateStackEnd);
                Il.Ldloc(StackBase);
                Il.Sub();
                Il.LdcI8(size - 1);
                Il.Sub();
                Il.Stloc(stackLimit);
            }

            if (limits[(int)AccessRegion.Input, size] is { } inputLimit)
            {
                Il.Ldarg(ArgState);
                Il.Ldfld(RuntimeMembers.StateInputLength);
                Il.LdcI4(size);
                Il.Call(RuntimeMembers.Limit);
                Il.Stloc(inputLimit);
            }

            if (limits[(int)AccessRegion.Context, size] is { } contextLimit)
            {
                Il.Ldarg(ArgState);
                Il.Ldfld(RuntimeMembers.StateContextLength);
                Il.LdcI4(size);
                Il.Call(RuntimeMembers.Limit);
                Il.Stloc(contextLimit);
            }
        }

        LoadBudget();
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

    private void EmitInstruction(int pc, Instruction insn)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                AluEmitter.Emit(this, pc, insn);
                break;
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                if (insn.OpCode is OpCodes.Call or OpCodes.CallX)
                {
                    CallEmitter.Emit(this, pc, insn);
                }
                else if (insn.OpCode == OpCodes.Exit)
                {
                    Il.Br(ExitLabel);
                }
                else
                {
                    JumpEmitter.Emit(this, pc, insn);
                }

                break;
            case InstructionClass.Ld:
                if (insn.OpCode == OpCodes.Lddw)
                {
                    Il.LdcU8(Owner.Environment.ResolveLddw(IlEngine.EngineName, Program, pc));
                    Store(insn.Dst);
                }
                else
                {
                    MemoryEmitter.EmitPacketLoad(this, pc, insn);
                }

                break;
            case InstructionClass.Ldx:
                MemoryEmitter.EmitLoad(this, pc, insn);
                break;
            case InstructionClass.St:
                MemoryEmitter.EmitStore(this, pc, insn);
                break;
            default:
                if (insn.AccessMode == AccessMode.Atomic)
                {
                    AtomicEmitter.Emit(this, pc, insn);
                }
                else
                {
                    MemoryEmitter.EmitStore(this, pc, insn);
                }

                break;
        }
    }

    private void EmitExit()
    {
        Il.MarkLabel(ExitLabel);
        SaveBudget();
        for (int r = 0; r <= 5; r++)
        {
            if (referenced[r])
            {
                Il.Ldarg(ArgFrame);
                Il.Ldloc(Registers[r]);
                Il.Stfld(RuntimeMembers.FrameRegisters[r]);
            }
        }

        Il.Ldloc(Registers[0]);
        Il.Ret();
    }

    private void EmitStop()
    {
        Il.MarkLabel(StopLabel);
        SaveBudget();
        Il.Ldarg(ArgState);
        Il.Ldfld(RuntimeMembers.StateStopValue);
        Il.Ret();
    }

    /// <summary>Throws an <see cref="EbpfCompilationException"/> for an encoding the engine does not accept.</summary>
    public EbpfCompilationException Invalid(int pc, Instruction insn, string reason) =>
        new(IlEngine.EngineName, pc, insn, reason);
}
