using Ebpf.Isa;
using Ebpf.X64.Runtime;
using Iced.Intel;
using Instruction = Ebpf.Isa.Instruction;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>JMP and JMP32: jumps, local calls (native calls with a new frame), helper calls, exit.</summary>
internal sealed partial class X64Compiler
{
    private void EmitJump(int pc, Instruction insn)
    {
        switch (insn.OpCode)
        {
            case OpCodes.Ja:
            case OpCodes.Ja32:
                EmitCancelPollBeforeBackwardJump(pc, insn);
                a.jmp(labels[(int)OpCodeTable.JumpTarget(insn, pc)]);
                return;
            case OpCodes.Exit:
                a.ret();
                return;
            case OpCodes.Call:
                if (insn.Src == 1)
                {
                    EmitLocalCall(pc, insn);
                }
                else if (insn.Src == 0)
                {
                    var helper = environment.ResolveHelper(EngineName, program, pc);
                    EmitHelperCall(pc, helper, callxRegister: -1);
                }
                else
                {
                    throw Unsupported(pc, insn, $"call with source {insn.Src} is not supported (0 = helper, 1 = local function)");
                }

                return;
            case OpCodes.CallX:
                EmitHelperCall(pc, null, insn.Dst);
                return;
        }

        EmitCancelPollBeforeBackwardJump(pc, insn);
        EmitConditionalJump(pc, insn);
    }

    /// <summary>
    /// Before a backward jump (every endless loop passes one): reads <see cref="Execution.RunState.CancelRequested"/>
    /// through the run block and leaves with <see cref="RunStatus.Cancelled"/> when it is set. Placed before the
    /// jump's own compare, since it changes the flags.
    /// </summary>
    private void EmitCancelPollBeforeBackwardJump(int pc, Instruction insn)
    {
        if (OpCodeTable.JumpTarget(insn, pc) > pc)
        {
            return;
        }

        a.mov(r11, Block(RunBlock.StateOffset));
        a.cmp(__dword_ptr[r11 + CancelRequestedOffset], 0);
        var stop = a.CreateLabel();
        a.jne(stop);
        cold.Add(() =>
        {
            Bind(ref stop);
            a.mov(BlockDword(RunBlock.ErrorInfoOffset), pc);
            a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.Cancelled);
            a.jmp(exitStub);
        });
    }

    private void EmitConditionalJump(int pc, Instruction insn)
    {
        bool is64 = insn.Class == InstructionClass.Jmp;
        bool reg = insn.Source == OperandSource.Register;
        int d = insn.Dst;
        var op = insn.JumpOperation;
        if (op == JumpOperation.Jset)
        {
            if (is64) { if (reg) a.test(R64(d), R64(insn.Src)); else a.test(R64(d), insn.Imm); }
            else { if (reg) a.test(R32(d), R32(insn.Src)); else a.test(R32(d), insn.Imm); }
        }
        else if (!reg && insn.Imm == 0 && op is JumpOperation.Jeq or JumpOperation.Jne)
        {
            if (is64) a.test(R64(d), R64(d)); else a.test(R32(d), R32(d));
        }
        else
        {
            if (is64) { if (reg) a.cmp(R64(d), R64(insn.Src)); else a.cmp(R64(d), insn.Imm); }
            else { if (reg) a.cmp(R32(d), R32(insn.Src)); else a.cmp(R32(d), insn.Imm); }
        }

        var target = labels[(int)OpCodeTable.JumpTarget(insn, pc)];
        switch (op)
        {
            case JumpOperation.Jeq: a.je(target); break;
            case JumpOperation.Jne: a.jne(target); break;
            case JumpOperation.Jset: a.jne(target); break;
            case JumpOperation.Jgt: a.ja(target); break;
            case JumpOperation.Jge: a.jae(target); break;
            case JumpOperation.Jlt: a.jb(target); break;
            case JumpOperation.Jle: a.jbe(target); break;
            case JumpOperation.Jsgt: a.jg(target); break;
            case JumpOperation.Jsge: a.jge(target); break;
            case JumpOperation.Jslt: a.jl(target); break;
            case JumpOperation.Jsle: a.jle(target); break;
            default: throw Unsupported(pc, insn, $"jump operation {op} is not supported");
        }
    }

    /// <summary>
    /// A local call: check the depth (r10 must leave room for one more frame), save r6-r9 and r10 (five pushes plus the
    /// return address keep the stack 16-byte aligned), move r10 down one frame, call, restore.
    /// </summary>
    private void EmitLocalCall(int pc, Instruction insn)
    {
        var fail = a.CreateLabel();
        a.cmp(R64(10), Block(RunBlock.CallLimitOffset));
        a.jb(fail);
        a.push(R64(6));
        a.push(R64(7));
        a.push(R64(8));
        a.push(R64(9));
        a.push(R64(10));
        a.sub(R64(10), stackSize);
        a.call(labels[pc + 1 + insn.Imm]);
        a.pop(R64(10));
        a.pop(R64(9));
        a.pop(R64(8));
        a.pop(R64(7));
        a.pop(R64(6));
        cold.Add(() =>
        {
            Bind(ref fail);
            a.mov(BlockDword(RunBlock.ErrorInfoOffset), pc);
            a.mov(BlockDword(RunBlock.StatusOffset), (int)RunStatus.CallDepthExceeded);
            a.jmp(exitStub);
        });
    }

    /// <summary>
    /// A helper call through the dispatcher: r1-r5 go to the block (the dispatcher reads them there and they are restored
    /// afterwards), r0 receives the result; a failure or a stop request leaves through the exit stub.
    /// </summary>
    private void EmitHelperCall(int pc, Helpers.Helper? helper, int callxRegister)
    {
        int site = sites.Count;
        sites.Add(new HelperSite(pc, helper));
        if (callxRegister >= 0)
        {
            a.mov(Block(RunBlock.CallxIdOffset), R64(callxRegister));
        }

        foreach (int r in ArgumentRegisters)
        {
            a.mov(Block(RunBlock.ArgsOffset + (8 * (r - 1))), R64(r));
        }

        a.mov(Block(RunBlock.CallFrameOffset), R64(10));
        abi.EmitDispatcherCall(a, dispatcher, site);
        foreach (int r in ArgumentRegisters)
        {
            a.mov(R64(r), Block(RunBlock.ArgsOffset + (8 * (r - 1))));
        }

        a.cmp(BlockDword(RunBlock.StatusOffset), 0);
        a.jne(exitStub);
    }
}
