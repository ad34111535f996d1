using Ebpf.Analysis;
using Ebpf.Execution;
using Ebpf.Isa;
using Ebpf.X64.Runtime;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>Loads, stores, atomics and legacy packet loads, with the memory checks.</summary>
internal sealed partial class X64Compiler
{
    private static AssemblerMemoryOperand Sized(int size, AssemblerMemoryOperand m) => size switch
    {
        1 => __byte_ptr[m],
        2 => __word_ptr[m],
        4 => __dword_ptr[m],
        _ => __qword_ptr[m],
    };

    /// <summary>
    /// The operand for an access of <paramref name="size"/> bytes at <c>base + offset</c>, after the check. Accesses
    /// relative to r10 that stay inside the current frame and accesses the safety analysis proves in bounds
    /// (<see cref="CheckPlan"/>) need no check; the others compare inline against the region the analysis names, or
    /// else guesses (<see cref="CheckPlan.RegionOf"/>: the stack frames, else the input, which is also the context when
    /// there is no metadata), and fall back to an out-of-line check of the stack frames, the metadata and the
    /// environment's regions.
    /// </summary>
    private AssemblerMemoryOperand CheckedAddress(int pc, int baseRegister, short offset, int size, bool write, bool keepOffRax = false)
    {
        var baseReg = R64(baseRegister);
        if (pendingSums.Remove(pc, out var sum))
        {
            // The base is a sum whose arithmetic was left out (see EmitFused): the access takes the sum itself.
            var address = SumOperand(sum.Source, sum.Index, sum.Displacement + offset);
            CheckAccess(pc, address, size, write);
            return Sized(size, address);
        }

        CheckAccess(pc, __[baseReg + offset], size, write);
        if (keepOffRax && baseRegister == 0)
        {
            a.lea(r11, __[baseReg + offset]);
            return Sized(size, __[r11]);
        }

        return Sized(size, __[baseReg + offset]);
    }

    /// <summary>
    /// Emits the check of an access of <paramref name="size"/> bytes at <paramref name="address"/> (any x86-64 address
    /// expression over eBPF registers) for the access at <paramref name="pc"/>, unless the access needs none (see
    /// <see cref="CheckedAddress"/>).
    /// </summary>
    private void CheckAccess(int pc, AssemblerMemoryOperand address, int size, bool write)
    {
        if (checks && !program.Analysis.IsOwnFrameAccess(pc, stackSize) && !plan.IsProven(pc) && !SkipsGuardedCheck(pc))
        {
            checkedAccesses += InGuardCopy ? 0 : 1;
            if (directBody)
            {
                EmitDirectCheck(pc, address, size, write);
                return;
            }

            EmitCheck(pc, address, size, write, StackCheckOf(pc));
        }
    }

    /// <summary>
    /// What the inline check of the access at <paramref name="pc"/> compares against: the input unless the region is the
    /// stack; in the entry function the current frame is the whole stack a run can reach; a called function may also be
    /// handed pointers into its callers' frames (arrays passed down), so it compares against them all.
    /// </summary>
    private StackCheck StackCheckOf(int pc) =>
        plan.RegionOf(pc) != AccessRegion.Stack ? StackCheck.None
        : program.FunctionIndexOf(pc) == 0 ? StackCheck.CurrentFrame : StackCheck.AllFrames;

    /// <summary>
    /// The inline check: (address - input start) below the input limit for this size; for a stack access (address -
    /// (r10 - frame size)) at most frame size - size (the current frame), or at most (StackEnd - r10) + frame size - size
    /// (the current and caller frames); otherwise the out-of-line path calls the shared slow check (stack frames,
    /// metadata, regions), which either returns or leaves through the violation stub. Only rcx, rdx and r11 change.
    /// </summary>
    private void EmitCheck(int pc, AssemblerMemoryOperand address, int size, bool write, StackCheck stack)
    {
        var ok = a.CreateLabel();
        var slow = a.CreateLabel();
        int log2 = System.Numerics.BitOperations.Log2((uint)size);
        if (address.Index == Register.None && address.Displacement == 0)
        {
            a.mov(rcx, new AssemblerRegister64(address.Base));
        }
        else
        {
            a.lea(rcx, address);
        }

        switch (stack)
        {
            case StackCheck.CurrentFrame:
                // The current frame [r10 - stackSize, r10): one subtraction and an unsigned comparison with a constant.
                SubFrameTop(rcx);
                a.add(rcx, stackSize);
                a.cmp(rcx, stackSize - size);
                a.ja(slow);
                break;
            case StackCheck.AllFrames:
                // The current and caller frames [r10 - stackSize, StackEnd): the limit is the depth below StackEnd.
                SubFrameTop(rcx);
                a.add(rcx, stackSize);
                a.mov(rdx, Block(RunBlock.StackEndOffset));
                SubFrameTop(rdx);
                a.add(rdx, stackSize - size);
                a.cmp(rcx, rdx);
                a.ja(slow);
                break;
            default:
                a.sub(rcx, Block(RunBlock.InputStartOffset));
                a.cmp(rcx, Block(RunBlock.InputLimitOffset + (8 * log2)));
                a.jae(slow);
                break;
        }

        Bind(ref ok);
        int packed = Packed(pc, size, write);
        cold.Add(() =>
        {
            Bind(ref slow);
            a.lea(r11, address);
            a.mov(ecx, packed);
            a.mov(edx, size);
            a.call(slowCheck);
            slowCheckCalled = true;
            a.jmp(ok);
        });
    }

    /// <summary>Which stack frames an inline check compares against (none: the input).</summary>
    private enum StackCheck
    {
        None,
        CurrentFrame,
        AllFrames,
    }

    /// <summary>
    /// The shared slow check: r11 = address, rdx = size, ecx = packed site. Returns when the access lies in the current
    /// and caller stack frames, the input, the metadata or an environment region (writes: writable ones); otherwise leaves through
    /// the violation stub. Preserves every eBPF register.
    /// </summary>
    private void EmitSlowCheck()
    {
        var ok = a.CreateLabel();
        var loop = a.CreateLabel();
        var next = a.CreateLabel();
        var fail = a.CreateLabel();
        Bind(ref slowCheck);
        a.mov(BlockDword(RunBlock.ErrorInfoOffset), ecx);
        a.push(rax);
        a.push(rdi);
        a.push(rsi);
        a.push(r8);

        // The current and caller frames: [r10 - stackSize, StackEnd), at least one frame (so at least 8 bytes) long.
        a.lea(rax, __[r11 + stackSize]);
        SubFrameTop(rax);
        a.mov(rdi, Block(RunBlock.StackEndOffset));
        SubFrameTop(rdi);
        a.add(rdi, stackSize);
        a.sub(rdi, rdx);
        a.cmp(rax, rdi);
        a.jbe(ok);

        // The input (for stack-region checks whose pointer was moved into it), then the metadata.
        EmitSlowRangeTest(RunBlock.InputStartOffset, RunBlock.InputLengthOffset, ok);
        EmitSlowRangeTest(RunBlock.MetadataStartOffset, RunBlock.MetadataLengthOffset, ok);

        // Environment regions: MemoryRegion entries at the offsets of MemoryRegionLayout.
        a.mov(rsi, Block(RunBlock.RegionsOffset));
        a.mov(r8d, BlockDword(RunBlock.RegionCountOffset));
        Bind(ref loop);
        a.test(r8d, r8d);
        a.je(fail);
        a.mov(rax, r11);
        a.sub(rax, __qword_ptr[rsi + MemoryRegionLayout.AddressOffset]);
        a.jb(next);
        a.mov(rdi, __qword_ptr[rsi + MemoryRegionLayout.LengthOffset]);
        a.sub(rdi, rdx);
        a.jb(next);
        a.cmp(rax, rdi);
        a.ja(next);
        a.test(ecx, 1);
        a.je(ok);
        a.cmp(__dword_ptr[rsi + MemoryRegionLayout.WritableOffset], 0);
        a.jne(ok);
        Bind(ref next);
        a.add(rsi, MemoryRegionLayout.Size);
        a.dec(r8d);
        a.jmp(loop);

        Bind(ref ok);
        a.pop(r8);
        a.pop(rsi);
        a.pop(rdi);
        a.pop(rax);
        a.ret();

        Bind(ref fail);
        a.jmp(violationStored);
    }

    /// <summary>
    /// In the slow check (r11 = address, rdx = size; rax and rdi free): jumps to <paramref name="ok"/> when the access
    /// lies in the run-block range at <paramref name="startOffset"/> / <paramref name="lengthOffset"/>, i.e. length &gt;=
    /// size and (address - start) &lt;= length - size; otherwise falls through.
    /// </summary>
    private void EmitSlowRangeTest(int startOffset, int lengthOffset, Label ok)
    {
        var skip = a.CreateLabel();
        a.mov(rdi, Block(lengthOffset));
        a.sub(rdi, rdx);
        a.jb(skip);
        a.mov(rax, r11);
        a.sub(rax, Block(startOffset));
        a.cmp(rax, rdi);
        a.jbe(ok);
        Bind(ref skip);
    }

    private void EmitLoad(int pc, DecodedInstruction insn) =>
        EmitLoadFrom(insn, CheckedAddress(pc, insn.Src, insn.Offset, insn.AccessSize, write: false));

    /// <summary>The load of <paramref name="insn"/> (sized, sign- or zero-extending) from the checked operand <paramref name="m"/>.</summary>
    private void EmitLoadFrom(DecodedInstruction insn, AssemblerMemoryOperand m)
    {
        int size = insn.AccessSize;
        int d = insn.Dst;
        if (insn.IsSigned)
        {
            if (size == 4)
            {
                a.movsxd(R64(d), m);
            }
            else
            {
                a.movsx(R64(d), m);
            }

            return;
        }

        switch (size)
        {
            case 1:
            case 2:
                a.movzx(R32(d), m);
                break;
            case 4:
                a.mov(R32(d), m);
                break;
            default:
                a.mov(R64(d), m);
                break;
        }
    }

    private void EmitStore(int pc, DecodedInstruction insn)
    {
        int size = insn.AccessSize;
        var m = CheckedAddress(pc, insn.Dst, insn.Offset, size, write: true);
        if (!insn.HasRegisterSource)
        {
            switch (size)
            {
                case 1: a.mov(m, (int)(sbyte)insn.Imm); break;
                case 2: a.mov(m, (int)(short)insn.Imm); break;
                default: a.mov(m, insn.Imm); break;
            }

            return;
        }

        int s = insn.Src;
        switch (size)
        {
            case 1: a.mov(m, R8(s)); break;
            case 2: a.mov(m, R16(s)); break;
            case 4: a.mov(m, R32(s)); break;
            default: a.mov(m, R64(s)); break;
        }
    }

    /// <summary>Atomics with lock-prefixed instructions; the fetch forms of and/or/xor use a cmpxchg loop (r0 parked in rdx).</summary>
    private void EmitAtomic(int pc, DecodedInstruction insn)
    {
        int size = insn.AccessSize;
        bool is64 = insn.Is64;
        var operation = insn.Operation;

        // The fetch forms of and/or/xor loop on rax, so their address must not depend on r0.
        var m = CheckedAddress(pc, insn.Dst, insn.Offset, size, write: true, keepOffRax: true);
        int s = insn.Src;
        switch (operation)
        {
            case Operation.AtomicAdd:
                if (is64) a.@lock.add(m, R64(s)); else a.@lock.add(m, R32(s));
                return;
            case Operation.AtomicOr:
                if (is64) a.@lock.or(m, R64(s)); else a.@lock.or(m, R32(s));
                return;
            case Operation.AtomicAnd:
                if (is64) a.@lock.and(m, R64(s)); else a.@lock.and(m, R32(s));
                return;
            case Operation.AtomicXor:
                if (is64) a.@lock.xor(m, R64(s)); else a.@lock.xor(m, R32(s));
                return;
            case Operation.AtomicFetchAdd:
                if (is64) a.@lock.xadd(m, R64(s)); else a.@lock.xadd(m, R32(s));
                return;
            case Operation.AtomicExchange:
                if (is64) a.xchg(m, R64(s)); else a.xchg(m, R32(s));
                return;
            case Operation.AtomicCompareExchange:
                if (is64)
                {
                    a.@lock.cmpxchg(m, R64(s));
                }
                else
                {
                    a.@lock.cmpxchg(m, R32(s));
                    a.mov(eax, eax);
                }

                return;
        }

        // fetch and/or/xor: rax = old; loop { rcx = rax op src; lock cmpxchg [m], rcx } until it sticks; then the old
        // value goes to the write-back register (when that is r0 it is in rax already).
        int back = insn.WriteBackRegister;
        a.mov(rdx, rax);
        var retry = a.CreateLabel();
        if (is64)
        {
            var src = s == 0 ? rdx : R64(s);
            a.mov(rax, m);
            Bind(ref retry);
            a.mov(rcx, rax);
            if (operation == Operation.AtomicFetchOr) a.or(rcx, src);
            else if (operation == Operation.AtomicFetchAnd) a.and(rcx, src);
            else a.xor(rcx, src);
            a.@lock.cmpxchg(m, rcx);
            a.jne(retry);
            if (back != 0)
            {
                a.mov(R64(back), rax);
                a.mov(rax, rdx);
            }
        }
        else
        {
            var src = s == 0 ? edx : R32(s);
            a.mov(eax, m);
            Bind(ref retry);
            a.mov(ecx, eax);
            if (operation == Operation.AtomicFetchOr) a.or(ecx, src);
            else if (operation == Operation.AtomicFetchAnd) a.and(ecx, src);
            else a.xor(ecx, src);
            a.@lock.cmpxchg(m, ecx);
            a.jne(retry);
            if (back != 0)
            {
                a.mov(R32(back), eax);
                a.mov(rax, rdx);
            }
        }
    }

    /// <summary>
    /// LD_ABS / LD_IND: r0 = the little-endian value at input offset imm (or (u32)src + imm), zero-extended; checked
    /// against the input only (always, even with memory checks off).
    /// </summary>
    private void EmitLegacyLoad(int pc, DecodedInstruction insn)
    {
        int size = insn.AccessSize;
        int log2 = System.Numerics.BitOperations.Log2((uint)size);
        if (insn.Operation == Operation.LoadAbsolute)
        {
            MovConstant(rcx, (ulong)(long)insn.Imm);
        }
        else
        {
            a.mov(ecx, R32(insn.Src));
            a.add(rcx, insn.Imm);
        }

        var fail = a.CreateLabel();
        a.cmp(rcx, Block(RunBlock.InputLimitOffset + (8 * log2)));
        a.jae(fail);
        a.mov(r11, Block(RunBlock.InputStartOffset));
        var m = Sized(size, __[r11 + rcx]);
        switch (size)
        {
            case 1:
            case 2:
                a.movzx(eax, m);
                break;
            case 4:
                a.mov(eax, m);
                break;
            default:
                a.mov(rax, m);
                break;
        }

        int packed = Packed(pc, size, write: false);
        cold.Add(() =>
        {
            Bind(ref fail);
            a.mov(r11, Block(RunBlock.InputStartOffset));
            a.add(r11, rcx);
            a.mov(ecx, packed);
            a.jmp(violation);
        });
    }
}
