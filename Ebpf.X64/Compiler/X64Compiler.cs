using Ebpf.Analysis;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.X64.Abi;
using Ebpf.X64.Runtime;
using Iced.Intel;
using Instruction = Ebpf.Isa.Instruction;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Translates an <see cref="EbpfProgram"/> into x86-64 machine code, instruction by instruction, with Iced's assembler.
/// The code is entered with the run block as the only argument; each eBPF function is a native function (local calls
/// are native calls); errors leave through an exit stub that restores the stack pointer saved at entry. A program that
/// qualifies for the direct entry is also compiled into a direct body without a run block (see X64Compiler.Direct.cs).
/// </summary>
internal sealed unsafe partial class X64Compiler
{
    private const string EngineName = "x64";

    /// <summary>Where <see cref="RunState.CancelRequested"/> sits in the run state.</summary>
    private static readonly int CancelRequestedOffset = OffsetOfCancelRequested();

    private readonly Assembler a = new(64);
    private readonly EbpfProgram program;
    private readonly ProgramEnvironment environment;
    private readonly ExecutionOptions options;
    private readonly INativeAbi abi;
    private readonly ulong dispatcher;
    private readonly Label[] labels;
    private readonly bool[] hasLabel;
    private readonly BudgetSegments? segments;
    private readonly HelperPlan helpers;
    private readonly int[] pcInstruction;
    private readonly List<Action> cold = [];
    private readonly List<HelperSite> sites = [];
    private readonly bool checks;
    private readonly CheckPlan plan;
    private int checkedAccesses;
    private readonly bool budget;
    private readonly int stackSize;

    /// <summary>True when helper calls return to the host (see <see cref="HelperReturnAnalysis"/>).</summary>
    private readonly bool helpersReturn;

    /// <summary>When some loop calls no helper in code whose helper calls return to the host: the backward jumps
    /// between two yields to the host (see <see cref="HelperReturnPlan"/>); else 0.</summary>
    private readonly long yieldInterval;

    /// <summary>In code with local calls whose helper calls return to the host: the local calls between two yields to
    /// the host (see <see cref="HelperReturnPlan.CallInterval"/>); such code leaves for the host with local-call frames
    /// live (see <see cref="EmitLeaveForHost"/>). Else 0.</summary>
    private readonly long callInterval;

    /// <summary>By eBPF register: true when an instruction names it (see <see cref="EmitEntry"/>).</summary>
    private readonly bool[] named;

    /// <summary>
    /// True when r10 lives in its host register. A program without local calls that never names r10 leaves it out: its frame
    /// top is always the block's stack end, which the checks read from the block instead (see <see cref="SubFrameTop"/>),
    /// so the entries neither save nor load the register.
    /// </summary>
    private readonly bool holdsFrame;

    /// <summary>True when the yield count (see <see cref="EmitYieldCount"/>) lives in rbp, which the code does not
    /// need for r10 (see <see cref="holdsFrame"/>); otherwise it lives in xmm15.</summary>
    private readonly bool counterInFrameRegister;

    /// <summary>True when the counting copies of guarded loops keep their count in rbp, which the code neither needs
    /// for r10 (see <see cref="holdsFrame"/>) nor for the yield count; otherwise, in code that yields, as a limit for the yield
    /// count in the run block, else in xmm13 (see <see cref="EmitLoopGuard"/>).</summary>
    private readonly bool guardCountInFrameRegister;

    /// <summary>True when the code calls out of itself (the helper dispatcher), so the native stack must stay aligned.</summary>
    private readonly bool callsOut;

    /// <summary>The boundary the body of code with loops starts on (see <see cref="CompileWith"/>).</summary>
    private const int BodyAlignment = 64;

    /// <summary>The NOP bytes between the entries and the body (see <see cref="CompileWith"/>).</summary>
    private int bodyPadding;

    /// <summary>Which eBPF registers may still be read at each slot.</summary>
    private readonly RegisterLiveness liveness;

    /// <summary>The host registers the code may change, for the prologue and epilogue.</summary>
    private readonly HashSet<Register> written;
    private Label epilogue;
    private Label exitStub;
    private Label violation;
    private Label violationStored;
    private Label slowCheck;

    /// <summary>
    /// True once a check's cold path calls <see cref="slowCheck"/> (the cold paths are emitted before the shared
    /// routines): code whose every access is proven or structural has no slow check, so the run block words only that
    /// routine reads (the input, the metadata, the region table) are neither filled by the run nor copied by a tail entry.
    /// </summary>
    private bool slowCheckCalled;
    private Label budgetFail;

    private X64Compiler(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, CheckPlan plan, HelperPlan helpers, INativeAbi abi, ulong dispatcher, HelperReturnPlan? returnPlan,
        bool directBody = false)
    {
        this.directBody = directBody;
        helpersReturn = returnPlan is not null;
        yieldInterval = returnPlan?.YieldInterval ?? 0;
        callInterval = returnPlan?.CallInterval ?? 0;
        this.helpers = helpers;
        this.program = program;
        this.environment = environment;
        this.options = options;
        this.abi = abi;
        this.dispatcher = dispatcher;
        checks = options.MemoryChecks;
        this.plan = plan;
        budget = !directBody && options.InstructionBudget is not null;
        stackSize = options.StackSize;
        int n = program.Length;
        labels = new Label[n];
        hasLabel = new bool[n];
        segments = budget ? program.Analysis.Segments(checks) : null;
        pcInstruction = new int[n];
        named = NamedRegisters(program);
        liveness = RegisterLiveness.Compute(program);
        callsOut = !helpersReturn && program.Decoded.Any(insn => insn.IsHelperCall);
        holdsFrame = named[10] || program.Functions.Length > 1 || program.Decoded.Any(insn => insn.Operation == Operation.CallLocal);
        written = holdsFrame ? [Register.R12, R64(10).Value] : [Register.R12];
        counterInFrameRegister = yieldInterval > 0 && !holdsFrame;
        guardCountInFrameRegister = checks && yieldInterval == 0 && !holdsFrame && plan.Loops.Loops.Count > 0;
        if (counterInFrameRegister || guardCountInFrameRegister)
        {
            written.Add(Register.RBP);
        }

        foreach (int r in (ReadOnlySpan<int>)[6, 7, 8, 9])
        {
            if (named[r])
            {
                written.Add(R64(r).Value);
            }
        }
    }

    private static int OffsetOfCancelRequested()
    {
        RunState state = default;
        return (int)((byte*)&state.CancelRequested - (byte*)&state);
    }

    /// <summary>Compiles a program; with a <paramref name="returnPlan"/> its helper calls return to the host (see
    /// <see cref="HelperReturnAnalysis"/>), otherwise they call <paramref name="dispatcher"/>.</summary>
    /// <exception cref="EbpfCompilationException">An instruction cannot be translated (e.g. an unknown helper id).</exception>
    /// <exception cref="EbpfVerificationException">The verification <paramref name="options"/> ask for refuses the program (see <see cref="CheckPlan.Create"/>).</exception>
    public static CompiledCode Compile(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, HelperPlan helpers, INativeAbi abi, ulong dispatcher,
        HelperReturnPlan? returnPlan)
    {
        // One plan (and so one safety analysis, which may refuse the program) serves both passes.
        return CompileWith(program, environment, options, CheckPlan.Create(program, environment, options), helpers, abi, dispatcher, returnPlan);
    }

    /// <summary><see cref="Compile"/> with the check plan made.</summary>
    private static CompiledCode CompileWith(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, CheckPlan plan, HelperPlan helpers, INativeAbi abi, ulong dispatcher,
        HelperReturnPlan? returnPlan)
    {
        var compiled = new X64Compiler(program, environment, options, plan, helpers, abi, dispatcher, returnPlan).Run();

        // Code with loops starts its body on a 64-byte boundary, so that the entries' length (which changes with the
        // program's registers and helper calls) never moves its loops: a second pass with NOPs after the entries,
        // whose length does not depend on the body.
        int body = compiled.PcOffsets[0];
        if (body % BodyAlignment == 0 || !HasBackwardJump(program))
        {
            return compiled;
        }

        var aligned = new X64Compiler(program, environment, options, plan, helpers, abi, dispatcher, returnPlan) { bodyPadding = BodyAlignment - (body % BodyAlignment) };
        return aligned.Run();
    }

    /// <summary>True when some jump of <paramref name="program"/> goes backward (it has a loop).</summary>
    private static bool HasBackwardJump(EbpfProgram program) => Execution.BriefCode.HasBackwardJump(program, 0, program.Length);

    private CompiledCode Run()
    {
        CreateLabels();
        CreateLoopGuards();
        epilogue = a.CreateLabel("epilogue");
        exitStub = a.CreateLabel("exit");
        violation = a.CreateLabel("violation");
        violationStored = a.CreateLabel("violation_stored");
        slowCheck = a.CreateLabel("slow_check");
        budgetFail = a.CreateLabel("budget");

        if (directBody)
        {
            EmitDirectEntry();
        }
        else
        {
            EmitEntry();
        }

        for (int bytes = bodyPadding; bytes > 0; bytes--)
        {
            a.nop();
        }

        var code = program.Decoded.AsSpan();
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (code[pc].Operation == Operation.None)
            {
                pcInstruction[pc] = -1;
                continue;
            }

            EmitFallIntoGuardedHead(pc);
            pcInstruction[pc] = a.Instructions.Count;
            if (!EmitLoopGuard(pc) && hasLabel[pc])
            {
                Bind(ref labels[pc]);
            }

            if (segments is not null && segments.LengthAt(pc) != 0)
            {
                EmitBudgetCheck(pc);
            }

            int fused = EmitCombined(pc, code);
            if (fused == 0)
            {
                EmitInstruction(pc, code[pc]);
                continue;
            }

            // The fused instructions' translations start where the first one's does.
            for (int next = pc + 1; next < pc + fused; next++)
            {
                pcInstruction[next] = pcInstruction[pc];
            }

            pc += fused - 1;
        }

        EmitLoopCopies();
        foreach (var stub in cold)
        {
            stub();
        }

        if (directBody)
        {
            EmitDirectReturn();
        }
        else
        {
            EmitSharedRoutines();
        }

        var callbackEntries = directBody ? [] : EmitCallbackEntries();
        int tailEntry = directBody ? -1 : EmitTailEntry();

        var buffer = new CodeBuffer(a.Instructions.Count * 5);
        var result = a.Assemble(buffer, 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var offsets = result.Result[0].NewInstructionOffsets;
        var pcOffsets = new int[code.Length];
        for (int pc = 0; pc < code.Length; pc++)
        {
            pcOffsets[pc] = pcInstruction[pc] < 0 ? -1 : (int)offsets[pcInstruction[pc]];
        }

        var callbackOffsets = Array.ConvertAll(callbackEntries, i => i < 0 ? -1 : (int)offsets[i]);
        return new CompiledCode(
            buffer.Written.ToArray(), sites.ToArray(), pcOffsets, checkedAccesses, plan.ProvenCount, callbackOffsets, helpersReturn, GuardCounts,
            tailEntry < 0 ? -1 : (int)offsets[tailEntry]);
    }

    /// <summary>
    /// The translation of a sequence starting at <paramref name="pc"/> that is compiled as a whole (a converted branch, a rotation, address
    /// arithmetic, a copy only a compare reads, a repeated compare); returns the slots it covers, or 0 (nothing emitted) when none starts there.
    /// </summary>
    private int EmitCombined(int pc, ReadOnlySpan<DecodedInstruction> code)
    {
        int fused = EmitIfConverted(pc, code);
        if (fused == 0)
        {
            fused = EmitRepeatedCompare(pc, code);
        }

        if (fused == 0)
        {
            fused = EmitJumpOverJa(pc, code);
        }

        if (fused == 0)
        {
            fused = EmitRotate(pc, code);
        }

        if (fused == 0)
        {
            fused = EmitFused(pc, code);
        }

        return fused != 0 ? fused : EmitCompareCopy(pc, code);
    }

    /// <summary>Labels for function starts (local calls) and jump targets.</summary>
    private void CreateLabels()
    {
        foreach (var function in program.Functions)
        {
            hasLabel[function.Start] = true;
        }

        for (int pc = 0; pc < program.Length; pc++)
        {
            hasLabel[pc] |= program.IsJumpTarget(pc);
            if (hasLabel[pc])
            {
                labels[pc] = a.CreateLabel();
            }
        }
    }

    /// <summary>Binds a label to the current position (a zero-sized instruction carries it, so labels never collide).</summary>
    private void Bind(ref Label label)
    {
        a.Label(ref label);
        a.zero_bytes();
    }

    private static AssemblerMemoryOperand Block(int offset) => __qword_ptr[r12 + offset];

    private static AssemblerMemoryOperand BlockDword(int offset) => __dword_ptr[r12 + offset];

    /// <summary>
    /// The entry: saves the callee-saved host registers the code may change (r12, the frame pointer r10 in rbp when the
    /// code holds it, see <see cref="holdsFrame"/>, and those of r6-r9 the program names; with no padding for alignment
    /// when the code calls nothing outside), loads r1, r2 and r10, and zeroes those of r0, r3-r5 and the named r6-r9
    /// that may be read before they are written (<see cref="RegisterLiveness"/>; a register no instruction names is
    /// never read, so it keeps the host's value unseen). r3-r5 count as read even when unnamed: a helper call passes
    /// r1-r5 on (in code whose calls return to the host, the unnamed ones go to the block as zeros once). When helper calls return to the host, the body is entered
    /// by a jump (not a call): each call site leaves with the epilogue and has its own resume entry right after it (see
    /// <see cref="EmitLeaveForHost"/>). The entry starts the yield count when a loop calls no helper (see
    /// <see cref="EmitYieldCount"/>).
    /// </summary>
    private void EmitEntry()
    {
        abi.EmitPrologue(a, written, callsOut);
        afterPrologue = a.CreateLabel();
        Bind(ref afterPrologue);
        a.mov(Block(RunBlock.SavedRspOffset), rsp);
        a.mov(R64(1), Block(RunBlock.ContextAddressOffset));
        a.mov(R64(2), Block(RunBlock.ContextLengthOffset));
        if (holdsFrame)
        {
            a.mov(R64(10), Block(RunBlock.StackEndOffset));
        }

        EmitZeroes();
        EmitYieldCountStart();
        if (callInterval > 0)
        {
            // The count of local calls between two yields (see EmitCallCount), once per run.
            a.mov(BlockDword(RunBlock.CallCountOffset), (int)callInterval);
        }

        if (helpersReturn)
        {
            // Call sites leave r3-r5 out of the block when the program never names them (they stay 0).
            foreach (int r in ArgumentRegisters)
            {
                if (!IsPassedArgument(r))
                {
                    a.mov(Block(RunBlock.ArgsOffset + (8 * (r - 1))), 0);
                }
            }
        }

        if (!helpersReturn)
        {
            a.call(labels[0]);
            Bind(ref epilogue);
            abi.EmitEpilogue(a, written, callsOut);
            return;
        }

        // Code whose helper calls return to the host is one function entered by a jump: its exits and the sites that
        // leave for the host end with the epilogue themselves, and each site's resume entry follows it inline (see
        // EmitLeaveForHost), so a call round trip has no call, jump or return but the host's own.
        a.jmp(labels[0]);
        Bind(ref epilogue);
        abi.EmitEpilogue(a, written, callsOut);
    }

    /// <summary>Zeroes those of r0, r3-r5 and the named r6-r9 that may be read before they are written (see <see cref="EmitEntry"/>).</summary>
    private void EmitZeroes()
    {
        foreach (int r in (ReadOnlySpan<int>)[0, 3, 4, 5, 6, 7, 8, 9])
        {
            // A register every path writes before reading it (nor passes to a helper first) needs no zero.
            if ((r < 6 || named[r]) && liveness.IsLiveAt(0, r))
            {
                a.xor(R32(r), R32(r));
            }
        }
    }

    /// <summary>The ones of r6-r9 the program names: what a yield to the host saves in the block.</summary>
    private IEnumerable<int> SavedRegisters => Enumerable.Range(6, 4).Where(r => named[r]);

    /// <summary>
    /// True when a helper call that returns to the host passes argument register <paramref name="r"/> through the
    /// block: r1 and r2 (they start as the context) and the named ones of r3-r5; the others are always 0, which the
    /// entry stores in their block slots once.
    /// </summary>
    private bool IsPassedArgument(int r) => r <= 2 || named[r];

    /// <summary>By eBPF register number: true when some instruction of <paramref name="program"/> names it as destination or source.</summary>
    private static bool[] NamedRegisters(EbpfProgram program)
    {
        var named = new bool[16];
        foreach (var insn in program.Decoded)
        {
            if (insn.Operation != Operation.None)
            {
                named[insn.Dst & 15] = true;
                named[insn.Src & 15] = true;
            }
        }

        return named;
    }

    private void EmitBudgetCheck(int pc)
    {
        a.sub(Block(RunBlock.BudgetOffset), segments!.LengthAt(pc));
        var fail = a.CreateLabel();
        a.jl(fail);
        cold.Add(() =>
        {
            Bind(ref fail);
            a.mov(ecx, pc);
            a.jmp(budgetFail);
        });
    }

    private void EmitSharedRoutines()
    {
        // Any error: back to the stack pointer of the entry, then the epilogue.
        Bind(ref exitStub);
        a.mov(rsp, Block(RunBlock.SavedRspOffset));
        if (helpersReturn)
        {
            EmitEndOfRun();
        }

        a.jmp(epilogue);

        // Budget: ecx = the leader of the block that cannot complete.
        Bind(ref budgetFail);
        a.mov(BlockDword(RunBlock.ErrorInfoOffset), ecx);
        a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.BudgetExceeded);
        a.jmp(exitStub);

        // Memory violation: ecx = packed site, r11 = address.
        Bind(ref violation);
        a.mov(BlockDword(RunBlock.ErrorInfoOffset), ecx);
        Bind(ref violationStored);
        a.mov(Block(RunBlock.ErrorAddressOffset), r11);
        if (holdsFrame)
        {
            a.mov(Block(RunBlock.ErrorFrameOffset), R64(10));
        }
        else
        {
            a.mov(rcx, Block(RunBlock.StackEndOffset));
            a.mov(Block(RunBlock.ErrorFrameOffset), rcx);
        }

        a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.MemoryViolation);
        a.jmp(exitStub);

        if (checks && slowCheckCalled)
        {
            EmitSlowCheck();
        }
    }

    /// <summary><paramref name="register"/> -= the frame top r10 (from the block when the code does not hold it, see <see cref="holdsFrame"/>).</summary>
    private void SubFrameTop(AssemblerRegister64 register)
    {
        if (holdsFrame)
        {
            a.sub(register, R64(10));
        }
        else
        {
            a.sub(register, Block(RunBlock.StackEndOffset));
        }
    }

    /// <summary>The packed description of an access site: pc, log2 of the size, write flag.</summary>
    private static int Packed(int pc, int size, bool write) =>
        (pc << 4) | (System.Numerics.BitOperations.Log2((uint)size) << 1) | (write ? 1 : 0);

    /// <summary>Loads a 64-bit constant with the shortest encoding (xor, mov r32, sign-extended imm32, or imm64).</summary>
    private void MovConstant(AssemblerRegister64 register, ulong value)
    {
        var r32 = new AssemblerRegister32(register.Value.GetFullRegister32());
        if (value == 0)
        {
            a.xor(r32, r32);
        }
        else if (value <= uint.MaxValue)
        {
            a.mov(r32, (uint)value);
        }
        else if ((long)value is >= int.MinValue and < 0)
        {
            a.AddInstruction(Iced.Intel.Instruction.Create(Code.Mov_rm64_imm32, register.Value, (int)(long)value));
        }
        else
        {
            a.mov(register, value);
        }
    }

    private void EmitInstruction(int pc, DecodedInstruction insn)
    {
        switch (insn.Operation)
        {
            case >= Operation.Add and <= Operation.Bswap64:
                EmitAlu(insn);
                break;
            case >= Operation.Ja and <= Operation.Exit:
                EmitJump(pc, insn);
                break;
            case Operation.Lddw:
                MovConstant(R64(insn.Dst), environment.ResolveLddw(EngineName, program, pc));
                break;
            case Operation.LoadAbsolute or Operation.LoadIndirect:
                EmitLegacyLoad(pc, insn);
                break;
            case Operation.Load or Operation.LoadSignExtend:
                EmitLoad(pc, insn);
                break;
            case Operation.Store:
                EmitStore(pc, insn);
                break;
            default:
                EmitAtomic(pc, insn);
                break;
        }
    }
}
