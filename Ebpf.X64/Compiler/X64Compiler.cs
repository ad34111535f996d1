using Ebpf.Execution;
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
/// are native calls); errors leave through an exit stub that restores the stack pointer saved at entry.
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
    private readonly int[] blockLengths;
    private readonly int[] pcInstruction;
    private readonly List<Action> cold = [];
    private readonly List<HelperSite> sites = [];
    private readonly bool checks;
    private readonly bool budget;
    private readonly int stackSize;
    private Label epilogue;
    private Label exitStub;
    private Label violation;
    private Label violationStored;
    private Label slowCheck;
    private Label budgetFail;

    private X64Compiler(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, INativeAbi abi, ulong dispatcher)
    {
        this.program = program;
        this.environment = environment;
        this.options = options;
        this.abi = abi;
        this.dispatcher = dispatcher;
        checks = options.MemoryChecks;
        budget = options.InstructionBudget is not null;
        stackSize = options.StackSize;
        int n = program.Length;
        labels = new Label[n];
        hasLabel = new bool[n];
        blockLengths = new int[n];
        pcInstruction = new int[n];
    }

    private static int OffsetOfCancelRequested()
    {
        RunState state = default;
        return (int)((byte*)&state.CancelRequested - (byte*)&state);
    }

    /// <summary>Compiles a program.</summary>
    /// <exception cref="EbpfCompilationException">An instruction cannot be translated (e.g. an unknown helper id).</exception>
    public static CompiledCode Compile(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, INativeAbi abi, ulong dispatcher)
    {
        var compiler = new X64Compiler(program, environment, options, abi, dispatcher);
        return compiler.Run();
    }

    private CompiledCode Run()
    {
        FindBlocksAndLabels();
        epilogue = a.CreateLabel("epilogue");
        exitStub = a.CreateLabel("exit");
        violation = a.CreateLabel("violation");
        violationStored = a.CreateLabel("violation_stored");
        slowCheck = a.CreateLabel("slow_check");
        budgetFail = a.CreateLabel("budget");

        EmitEntry();
        var code = program.Instructions.AsSpan();
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                pcInstruction[pc] = -1;
                continue;
            }

            pcInstruction[pc] = a.Instructions.Count;
            if (hasLabel[pc])
            {
                Bind(ref labels[pc]);
            }

            if (budget && blockLengths[pc] != 0)
            {
                EmitBudgetCheck(pc);
            }

            EmitInstruction(pc, code[pc]);
        }

        foreach (var stub in cold)
        {
            stub();
        }

        EmitSharedRoutines();

        var buffer = new CodeBuffer(a.Instructions.Count * 5);
        var result = a.Assemble(buffer, 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var offsets = result.Result[0].NewInstructionOffsets;
        var pcOffsets = new int[code.Length];
        for (int pc = 0; pc < code.Length; pc++)
        {
            pcOffsets[pc] = pcInstruction[pc] < 0 ? -1 : (int)offsets[pcInstruction[pc]];
        }

        return new CompiledCode(buffer.Written.ToArray(), sites.ToArray(), pcOffsets, blockLengths);
    }

    /// <summary>Labels for function starts and jump targets; block leaders and their lengths for the budget.</summary>
    private void FindBlocksAndLabels()
    {
        var code = program.Instructions.AsSpan();
        int n = code.Length;
        var leader = new bool[n];
        leader[0] = true;
        foreach (var function in program.Functions)
        {
            leader[function.Start] = true;
            hasLabel[function.Start] = true;
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                continue;
            }

            var insn = code[pc];
            if (program.IsJumpTarget(pc))
            {
                leader[pc] = true;
                hasLabel[pc] = true;
            }

            int next = pc + (insn.IsWide ? 2 : 1);
            // A block also ends after every instruction that can fail, so only a block's last instruction can fail: a
            // block that does not fit in the remaining budget then stops exactly where the interpreter would.
            bool endsBlock = OpCodeTable.IsJump(insn.OpCode)
                || insn.OpCode is OpCodes.Call or OpCodes.CallX or OpCodes.Exit
                || (insn.Class == InstructionClass.Ld && !insn.IsWide)
                || (checks && insn.Class is InstructionClass.Ldx or InstructionClass.St or InstructionClass.Stx);
            if (endsBlock && next < n)
            {
                leader[next] = true;
            }
        }

        for (int pc = 0; pc < n; pc++)
        {
            if (hasLabel[pc])
            {
                labels[pc] = a.CreateLabel();
            }
        }

        int current = -1;
        for (int pc = 0; pc < n; pc++)
        {
            if (program.IsSecondSlot(pc))
            {
                continue;
            }

            if (leader[pc])
            {
                current = pc;
            }

            blockLengths[current]++;
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

    private void EmitEntry()
    {
        abi.EmitPrologue(a);
        a.mov(Block(RunBlock.SavedRspOffset), rsp);
        a.mov(R64(1), Block(RunBlock.ContextAddressOffset));
        a.mov(R64(2), Block(RunBlock.ContextLengthOffset));
        a.mov(R64(10), Block(RunBlock.StackEndOffset));
        foreach (int r in (ReadOnlySpan<int>)[0, 3, 4, 5, 6, 7, 8, 9])
        {
            a.xor(R32(r), R32(r));
        }

        a.call(labels[0]);
        Bind(ref epilogue);
        abi.EmitEpilogue(a);
    }

    private void EmitBudgetCheck(int pc)
    {
        a.sub(Block(RunBlock.BudgetOffset), blockLengths[pc]);
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
        a.mov(Block(RunBlock.ErrorFrameOffset), rbp);
        a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.MemoryViolation);
        a.jmp(exitStub);

        if (checks)
        {
            EmitSlowCheck();
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

    private EbpfCompilationException Unsupported(int pc, Instruction insn, string reason) =>
        new(EngineName, pc, insn, reason);

    private void EmitInstruction(int pc, Instruction insn)
    {
        switch (insn.Class)
        {
            case InstructionClass.Alu:
            case InstructionClass.Alu64:
                EmitAlu(pc, insn, insn.Class == InstructionClass.Alu64);
                break;
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                EmitJump(pc, insn);
                break;
            case InstructionClass.Ldx:
                EmitLoad(pc, insn);
                break;
            case InstructionClass.St:
            case InstructionClass.Stx:
                if (insn.AccessMode == AccessMode.Atomic)
                {
                    EmitAtomic(pc, insn);
                }
                else
                {
                    EmitStore(pc, insn);
                }

                break;
            case InstructionClass.Ld:
                if (insn.IsWide)
                {
                    MovConstant(R64(insn.Dst), environment.ResolveLddw(EngineName, program, pc));
                }
                else
                {
                    EmitLegacyLoad(pc, insn);
                }

                break;
            default:
                throw Unsupported(pc, insn, $"instruction class {insn.Class} is not supported");
        }
    }
}
